package io.gatewaycsi.common;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import io.gatewaycsi.csi.v1.CsiProto;
import java.util.List;
import java.util.Map;

/**
 * Removes every field the CSI spec marks with the {@code csi_secret} field option (CSI spec, "Secrets
 * Requirements": secrets MUST NOT be logged) from a message and the messages inside it, so that what is left
 * can be logged.
 */
public final class SecretRedactor {

    private SecretRedactor() {
    }

    /** Returns a copy of {@code message} without any {@code csi_secret} field, at any depth. */
    public static Message redact(Message message) {
        Message.Builder copy = message.toBuilder();
        for (Map.Entry<FieldDescriptor, Object> field : message.getAllFields().entrySet()) {
            FieldDescriptor descriptor = field.getKey();
            if (isSecret(descriptor)) {
                copy.clearField(descriptor);
            } else if (descriptor.getJavaType() == FieldDescriptor.JavaType.MESSAGE && !descriptor.isMapField()) {
                if (descriptor.isRepeated()) {
                    List<?> items = (List<?>) field.getValue();
                    for (int i = 0; i < items.size(); i++) {
                        copy.setRepeatedField(descriptor, i, redact((Message) items.get(i)));
                    }
                } else {
                    copy.setField(descriptor, redact((Message) field.getValue()));
                }
            }
        }
        return copy.build();
    }

    private static boolean isSecret(FieldDescriptor field) {
        return field.getOptions().getExtension(CsiProto.csiSecret);
    }
}
