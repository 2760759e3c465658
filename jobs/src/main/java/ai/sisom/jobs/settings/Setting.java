package ai.sisom.jobs.settings;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * One {@code sisom.*} setting: its key, what values it takes, its default and a one-line description. Values are
 * parsed and checked when the settings are loaded, before any work starts; a bad one is an error naming the key,
 * the value and where it came from.
 *
 * @param <T> the parsed type
 */
public final class Setting<T> {
    private final String key;
    private final String type;
    private final T defaultValue;
    private final String defaultText;
    private final Function<String, T> parser;
    private final String doc;
    private final List<String> commands;

    private Setting(String key, String type, T defaultValue, String defaultText, Function<String, T> parser, String doc,
                    List<String> commands) {
        this.key = key;
        this.type = type;
        this.defaultValue = defaultValue;
        this.defaultText = defaultText;
        this.parser = parser;
        this.doc = doc;
        this.commands = List.copyOf(commands);
    }

    /** Free text (a path, a column name, a spec checked by {@code check}); {@code null} default: none. */
    static Setting<String> text(String key, String type, String dflt, Function<String, String> check, String doc,
                                String... commands) {
        return new Setting<>(key, type, dflt, dflt, check, doc, List.of(commands));
    }

    static Setting<String> text(String key, String type, String dflt, String doc, String... commands) {
        return text(key, type, dflt, v -> v, doc, commands);
    }

    /** A value of any type, parsed by {@code parser}, whose exception message says what is wrong. */
    static <T> Setting<T> parsed(String key, String type, T dflt, Function<String, T> parser, String doc,
                                 String... commands) {
        return new Setting<>(key, type, dflt, dflt == null ? null : dflt.toString(), parser, doc, List.of(commands));
    }

    static Setting<Integer> integer(String key, Integer dflt, int min, String doc, String... commands) {
        return new Setting<>(key, min == 0 ? "integer >= 0" : "integer >= " + min, dflt, dflt == null ? null : dflt.toString(),
                v -> {
                    int n;
                    try {
                        n = Integer.parseInt(v);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("must be an integer");
                    }
                    if (n < min) {
                        throw new IllegalArgumentException("must be at least " + min);
                    }
                    return n;
                }, doc, List.of(commands));
    }

    /** A number in [min, max] (an open lower bound when {@code minExclusive}). */
    static Setting<Double> number(String key, Double dflt, double min, boolean minExclusive, double max, String doc,
                                  String... commands) {
        return number(key, dflt, min, minExclusive, max, false, doc, commands);
    }

    /** A number between min and max, each bound open or closed. */
    static Setting<Double> number(String key, Double dflt, double min, boolean minExclusive, double max,
                                  boolean maxExclusive, String doc, String... commands) {
        String range = max == Double.POSITIVE_INFINITY ? (minExclusive ? "number > " : "number >= ") + fmt(min)
                : "number in " + (minExclusive ? "(" : "[") + fmt(min) + ", " + fmt(max) + (maxExclusive ? ")" : "]");
        return new Setting<>(key, range, dflt, dflt == null ? null : fmt(dflt), v -> {
            double d;
            try {
                d = Double.parseDouble(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("must be a number");
            }
            if (Double.isNaN(d) || (minExclusive ? d <= min : d < min) || (maxExclusive ? d >= max : d > max)) {
                throw new IllegalArgumentException("must be a " + range);
            }
            return d;
        }, doc, List.of(commands));
    }

    /** A value of another type, parsed by {@code parser} (its exception message says what is wrong). */
    static <T> Setting<T> parsed(String key, String type, T dflt, String dfltText, Function<String, T> parser,
                                 String doc, String... commands) {
        return new Setting<>(key, type, dflt, dfltText, parser, doc, List.of(commands));
    }

    /** A comma-separated list of non-empty, distinct values. */
    static Setting<List<String>> list(String key, String type, String doc, String... commands) {
        return new Setting<>(key, type, List.of(), null, v -> {
            List<String> out = new java.util.ArrayList<>();
            for (String part : v.split(",")) {
                String t = part.trim();
                if (t.isEmpty()) {
                    throw new IllegalArgumentException("must be a comma-separated list without empty entries");
                }
                if (out.contains(t)) {
                    throw new IllegalArgumentException("names '" + t + "' twice");
                }
                out.add(t);
            }
            return List.copyOf(out);
        }, doc, List.of(commands));
    }

    static Setting<Boolean> flag(String key, boolean dflt, String doc, String... commands) {
        return new Setting<>(key, "true | false", dflt, Boolean.toString(dflt), v -> switch (v.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "1" -> true;
            case "false", "no", "0" -> false;
            default -> throw new IllegalArgumentException("must be true or false");
        }, doc, List.of(commands));
    }

    /** One of an enum's constants, written in lower case. */
    static <E extends Enum<E>> Setting<E> choice(String key, Class<E> type, E dflt, String doc, String... commands) {
        E[] all = type.getEnumConstants();
        String names = String.join(" | ", Arrays.stream(all).map(Setting::lower).toList());
        return new Setting<>(key, names, dflt, dflt == null ? null : lower(dflt), v -> {
            for (E e : all) {
                if (lower(e).equals(v.toLowerCase(Locale.ROOT))) {
                    return e;
                }
            }
            throw new IllegalArgumentException("must be one of " + names);
        }, doc, List.of(commands));
    }

    static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }

    public String key() { return key; }

    /** The values it takes, as the documentation shows them. */
    public String type() { return type; }

    /** The value used when the setting is not given; null when there is none. */
    public T defaultValue() { return defaultValue; }

    /** The default as the documentation shows it; null when there is none. */
    public String defaultText() { return defaultText; }

    public String doc() { return doc; }

    /** The commands that read it. */
    public List<String> commands() { return commands; }

    /** Parses a raw value; the exception's message says what is wrong with it (without the key). */
    T parse(String raw) {
        return parser.apply(raw);
    }

    @Override
    public String toString() {
        return key;
    }
}
