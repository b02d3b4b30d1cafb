package io.gatewaycsi.common.volume;

/**
 * The escaping of fields inside volume and snapshot IDs, whose fields are separated by {@code |}:
 * {@code %} is written {@code %25} and {@code |} is written {@code %7C}; nothing else is escaped.
 */
public final class IdFields {

    private IdFields() {
    }

    /** {@code field} with {@code %} and {@code |} escaped. */
    public static String escape(String field) {
        return field.replace("%", "%25").replace("|", "%7C");
    }

    /**
     * The field {@link #escape} made {@code escaped} from.
     *
     * @throws IllegalArgumentException for any other {@code %} sequence
     */
    public static String unescape(String escaped) {
        StringBuilder out = new StringBuilder(escaped.length());
        for (int i = 0; i < escaped.length(); i++) {
            char c = escaped.charAt(i);
            if (c != '%') {
                out.append(c);
                continue;
            }
            String code = i + 3 <= escaped.length() ? escaped.substring(i, i + 3) : "";
            out.append(switch (code) {
                case "%25" -> '%';
                case "%7C" -> '|';
                default -> throw new IllegalArgumentException("bad escape `" + Values.printable(code) + "`");
            });
            i += 2;
        }
        return out.toString();
    }
}
