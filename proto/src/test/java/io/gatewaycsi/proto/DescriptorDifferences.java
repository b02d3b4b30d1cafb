package io.gatewaycsi.proto;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.GenericDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import com.google.protobuf.ExtensionRegistry;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.TextFormat;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Every difference between two versions of one .proto file ("upstream" and "ours"), found by
 * walking their descriptors side by side.
 *
 * <p>Compared: package, syntax and imports; every message (nested ones included) with its options
 * and oneofs; every field's name, number, label, type, resolved type name, map-entry shape, oneof
 * membership, proto3 {@code optional}, JSON name and options; every enum value's name, number and
 * options; every service and rpc with input and output types, streaming flags and options; every
 * extension (custom option) with number, type, label and extendee. Options are compared in text
 * form, with custom options named through the extensions declared in our file.
 *
 * <p>Not compared: file options (language-specific, ours to choose), declaration order and
 * comments. Map-entry messages are compared through the shape of their map field
 * ({@code map<K, V>}), not by name, since their names derive from the field name.
 *
 * <p>The only tolerated differences are the {@link Rename}s given: such a field is matched by its
 * new name and must agree with upstream in everything else, JSON name included.
 */
final class DescriptorDifferences {

  /** A field our file deliberately names differently: same number, type and JSON name. */
  record Rename(String messageFullName, String upstreamField, String ourField) {

    String upstreamFullName() {
      return messageFullName + "." + upstreamField;
    }
  }

  private final Map<String, Rename> renamesByUpstreamField = new HashMap<>();
  private final List<Rename> unusedRenames;
  private final ExtensionRegistry customOptions = ExtensionRegistry.newInstance();
  private final List<String> differences = new ArrayList<>();

  private DescriptorDifferences(List<Rename> renames, FileDescriptor ours) {
    renames.forEach(rename -> renamesByUpstreamField.put(rename.upstreamFullName(), rename));
    unusedRenames = new ArrayList<>(renames);
    ours.getExtensions().forEach(customOptions::add);
  }

  /** Lists the differences, one line each, naming the upstream element and both values. */
  static List<String> between(FileDescriptor upstream, FileDescriptor ours, List<Rename> renames) {
    var comparison = new DescriptorDifferences(renames, ours);
    comparison.compareFiles(upstream, ours);
    comparison.unusedRenames.forEach(rename -> comparison.differences.add(
        rename.upstreamFullName() + ": listed as renamed, but upstream has no such field"));
    return List.copyOf(comparison.differences);
  }

  // ---- one method per kind of descriptor -------------------------------------------------

  private void compareFiles(FileDescriptor upstream, FileDescriptor ours) {
    compareTraits("file " + upstream.getName(), fileTraits(upstream), fileTraits(ours));
    compareEach("extension", upstream.getExtensions(), ours.getExtensions(), this::compareExtensions);
    compareEach("message", upstream.getMessageTypes(), ours.getMessageTypes(), this::compareMessages);
    compareEach("enum", upstream.getEnumTypes(), ours.getEnumTypes(), this::compareEnums);
    compareEach("service", upstream.getServices(), ours.getServices(), this::compareServices);
  }

  private void compareMessages(Descriptor upstream, Descriptor ours) {
    compareTraits(upstream.getFullName(), messageTraits(upstream), messageTraits(ours));
    compareEach("field", upstream.getFields(), ours.getFields(), this::ourFullName, this::compareFields);
    compareEach("nested message", withoutMapEntries(upstream.getNestedTypes()),
        withoutMapEntries(ours.getNestedTypes()), this::compareMessages);
    compareEach("nested enum", upstream.getEnumTypes(), ours.getEnumTypes(), this::compareEnums);
    compareEach("extension", upstream.getExtensions(), ours.getExtensions(), this::compareExtensions);
  }

  private void compareFields(FieldDescriptor upstream, FieldDescriptor ours) {
    unusedRenames.remove(renamesByUpstreamField.get(upstream.getFullName()));
    compareTraits(upstream.getFullName(), fieldTraits(upstream), fieldTraits(ours));
  }

  private void compareExtensions(FieldDescriptor upstream, FieldDescriptor ours) {
    compareTraits(upstream.getFullName(), extensionTraits(upstream), extensionTraits(ours));
  }

  private void compareEnums(EnumDescriptor upstream, EnumDescriptor ours) {
    compareTraits(upstream.getFullName(), Map.of("options", options(upstream.getOptions())),
        Map.of("options", options(ours.getOptions())));
    compareEach("enum value", upstream.getValues(), ours.getValues(), this::compareEnumValues);
  }

  private void compareEnumValues(EnumValueDescriptor upstream, EnumValueDescriptor ours) {
    compareTraits(upstream.getFullName(), enumValueTraits(upstream), enumValueTraits(ours));
  }

  private void compareServices(ServiceDescriptor upstream, ServiceDescriptor ours) {
    compareTraits(upstream.getFullName(), Map.of("options", options(upstream.getOptions())),
        Map.of("options", options(ours.getOptions())));
    compareEach("rpc", upstream.getMethods(), ours.getMethods(), this::compareMethods);
  }

  private void compareMethods(MethodDescriptor upstream, MethodDescriptor ours) {
    compareTraits(upstream.getFullName(), methodTraits(upstream), methodTraits(ours));
  }

  // ---- what is compared of each kind -----------------------------------------------------

  private static Map<String, Object> fileTraits(FileDescriptor file) {
    var traits = new LinkedHashMap<String, Object>();
    traits.put("package", file.getPackage());
    traits.put("syntax", file.toProto().getSyntax());
    traits.put("imports", file.getDependencies().stream().map(FileDescriptor::getName).sorted().toList());
    return traits;
  }

  private Map<String, Object> messageTraits(Descriptor message) {
    var traits = new LinkedHashMap<String, Object>();
    traits.put("oneofs", message.getRealOneofs().stream().map(OneofDescriptor::getName).toList());
    traits.put("options", options(message.getOptions()));
    return traits;
  }

  private Map<String, Object> fieldTraits(FieldDescriptor field) {
    var traits = new LinkedHashMap<String, Object>();
    traits.put("number", field.getNumber());
    traits.put("label", field.toProto().getLabel());
    traits.put("type", field.getType());
    traits.put("type name", typeName(field));
    traits.put("map entry", field.isMapField());
    traits.put("oneof", oneofName(field));
    traits.put("proto3 optional", field.toProto().getProto3Optional());
    traits.put("json name", field.getJsonName());
    traits.put("options", options(field.getOptions()));
    return traits;
  }

  private Map<String, Object> extensionTraits(FieldDescriptor extension) {
    var traits = fieldTraits(extension);
    traits.put("extendee", extension.getContainingType().getFullName());
    return traits;
  }

  private Map<String, Object> enumValueTraits(EnumValueDescriptor value) {
    var traits = new LinkedHashMap<String, Object>();
    traits.put("number", value.getNumber());
    traits.put("options", options(value.getOptions()));
    return traits;
  }

  private Map<String, Object> methodTraits(MethodDescriptor method) {
    var traits = new LinkedHashMap<String, Object>();
    traits.put("input type", method.getInputType().getFullName());
    traits.put("output type", method.getOutputType().getFullName());
    traits.put("client streaming", method.isClientStreaming());
    traits.put("server streaming", method.isServerStreaming());
    traits.put("options", options(method.getOptions()));
    return traits;
  }

  // ---- helpers ---------------------------------------------------------------------------

  /** Pairs elements by full name, reports the unpaired ones and compares each pair. */
  private <T extends GenericDescriptor> void compareEach(
      String kind, List<T> upstream, List<T> ours, BiConsumer<T, T> compare) {
    compareEach(kind, upstream, ours, GenericDescriptor::getFullName, compare);
  }

  /** As above, with upstream elements keyed by the full name they are expected to have in ours. */
  private <T extends GenericDescriptor> void compareEach(String kind, List<T> upstream, List<T> ours,
      Function<T, String> expectedFullName, BiConsumer<T, T> compare) {
    var oursByName = new LinkedHashMap<String, T>();
    ours.forEach(element -> oursByName.put(element.getFullName(), element));
    for (T element : upstream) {
      T counterpart = oursByName.remove(expectedFullName.apply(element));
      if (counterpart == null) {
        differences.add(element.getFullName() + ": " + kind + " missing from ours");
      } else {
        compare.accept(element, counterpart);
      }
    }
    oursByName.keySet().forEach(name -> differences.add(name + ": " + kind + " not in upstream"));
  }

  private void compareTraits(String where, Map<String, Object> upstream, Map<String, Object> ours) {
    upstream.forEach((trait, value) -> {
      if (!Objects.equals(value, ours.get(trait))) {
        differences.add("%s: %s is %s upstream, %s in ours".formatted(where, trait, value, ours.get(trait)));
      }
    });
  }

  private String ourFullName(FieldDescriptor upstream) {
    Rename rename = renamesByUpstreamField.get(upstream.getFullName());
    return rename == null ? upstream.getFullName() : rename.messageFullName() + "." + rename.ourField();
  }

  private static List<Descriptor> withoutMapEntries(List<Descriptor> messages) {
    return messages.stream().filter(message -> !message.getOptions().getMapEntry()).toList();
  }

  /** {@code map<K, V>} for map fields, the full name for message and enum fields, else empty. */
  private static String typeName(FieldDescriptor field) {
    if (field.isMapField()) {
      Descriptor entry = field.getMessageType();
      return "map<" + typeName(entry.findFieldByNumber(1)) + ", " + typeName(entry.findFieldByNumber(2)) + ">";
    }
    return switch (field.getJavaType()) {
      case MESSAGE -> field.getMessageType().getFullName();
      case ENUM -> field.getEnumType().getFullName();
      default -> field.getType().name().toLowerCase(java.util.Locale.ROOT);
    };
  }

  private static String oneofName(FieldDescriptor field) {
    OneofDescriptor oneof = field.getRealContainingOneof();
    return oneof == null ? "(none)" : oneof.getName();
  }

  /** The options in one-line text form, custom options resolved by name through our extensions. */
  private String options(Message options) {
    try {
      Message resolved = options.getParserForType().parseFrom(options.toByteString(), customOptions);
      String text = TextFormat.printer().emittingSingleLine(true).printToString(resolved).strip();
      return text.isEmpty() ? "(none)" : "{" + text + "}";
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("unreadable options " + options, e);
    }
  }
}
