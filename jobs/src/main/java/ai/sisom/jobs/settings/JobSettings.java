package ai.sisom.jobs.settings;

import org.apache.commons.text.similarity.LevenshteinDistance;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * A job's settings, parsed once: a properties file plus {@code --set key=value} overrides (which win). Every
 * {@code sisom.*} value is parsed and checked against {@link Settings} when loaded, so a typo or a bad value stops
 * the job before Spark starts, with the key, the value and where it came from. {@code spark.*} keys go to Spark
 * (without overriding what spark-submit already set).
 */
public final class JobSettings {
    /** A raw value and where it was given. */
    private record Raw(String value, String origin) {}

    private final Map<String, Raw> raw;
    private final Map<Setting<?>, Object> values;

    private JobSettings(Map<String, Raw> raw, Map<Setting<?>, Object> values) {
        this.raw = raw;
        this.values = values;
    }

    /** Loads a properties file on local disk (or none) and the overrides, and checks every sisom.* setting. */
    public static JobSettings load(Path file, List<String> overrides) throws IOException {
        if (file != null && !Files.isRegularFile(file)) {
            throw new SettingsException("configuration file not found: " + file);
        }
        return load(file == null ? null : file.toString(), overrides, Map.of());
    }

    /**
     * Loads the {@code --conf} file (or none) wherever the deploy mode put it ({@link ConfFile}: the driver's disk,
     * a Hadoop URI, a file shipped with {@code --files}) and the overrides, and checks every sisom.* setting.
     * {@code sparkConf}: the spark.* settings spark-submit passed to the driver.
     */
    public static JobSettings load(String conf, List<String> overrides, Map<String, String> sparkConf)
            throws IOException {
        Map<String, Raw> raw = new TreeMap<>();
        if (conf != null) {
            ConfFile.Text t = ConfFile.read(conf, sparkConf);
            Properties p = new Properties();
            try (Reader r = new java.io.StringReader(t.text())) {
                p.load(r);
            }
            String origin = "in " + t.origin();
            p.stringPropertyNames().forEach(k -> raw.put(k.trim(), new Raw(p.getProperty(k).trim(), origin)));
        }
        for (String o : overrides) {
            int eq = o.indexOf('=');
            if (eq <= 0) {
                throw new SettingsException("--set expects key=value, got '" + o + "'");
            }
            String key = o.substring(0, eq).trim();
            raw.put(key, new Raw(o.substring(eq + 1).trim(), "from --set " + key));
        }
        return parse(raw);
    }

    private static JobSettings parse(Map<String, Raw> raw) {
        Map<Setting<?>, Object> values = new HashMap<>();
        for (Map.Entry<String, Raw> e : raw.entrySet()) {
            String key = e.getKey();
            if (!key.startsWith("sisom.")) {
                continue;
            }
            Setting<?> s = Settings.byKey(key);
            if (s == null) {
                String near = nearest(key);
                throw new SettingsException("unknown setting '" + key + "' (" + e.getValue().origin() + ")"
                        + (near == null ? "" : "; did you mean '" + near + "'?")
                        + " `SisomJob --help` lists every setting");
            }
            String v = e.getValue().value();
            if (v.isEmpty()) {
                continue; // an empty value means "not set", as in a template with blanks
            }
            try {
                values.put(s, s.parse(v));
            } catch (IllegalArgumentException bad) {
                throw new SettingsException("setting '" + key + "' " + bad.getMessage() + ", got '"
                        + Redaction.value(key, v) + "' (" + e.getValue().origin() + ")");
            }
        }
        for (List<Setting<?>> group : Settings.TOGETHER) {
            long given = group.stream().filter(values::containsKey).count();
            if (given > 0 && given < group.size()) {
                throw new SettingsException("settings " + group + " go together: set all of them or none");
            }
        }
        return new JobSettings(raw, values);
    }

    /** The known key closest to a mistyped one, or null when none is close. */
    static String nearest(String key) {
        LevenshteinDistance lev = LevenshteinDistance.getDefaultInstance();
        String best = null;
        int bestD = Integer.MAX_VALUE;
        for (Setting<?> s : Settings.ALL) {
            int d = lev.apply(key.toLowerCase(java.util.Locale.ROOT), s.key().toLowerCase(java.util.Locale.ROOT));
            if (d < bestD) {
                bestD = d;
                best = s.key();
            }
        }
        return bestD <= Math.max(3, key.length() / 4) ? best : null;
    }

    /** The value, or the setting's default (null when it has none and is not set). */
    @SuppressWarnings("unchecked")
    public <T> T get(Setting<T> s) {
        Object v = values.get(s);
        return v != null ? (T) v : s.defaultValue();
    }

    /** The value; an error naming the setting and the command when it is neither set nor defaulted. */
    public <T> T require(Setting<T> s, String command) {
        T v = get(s);
        if (v == null) {
            throw new SettingsException("missing setting '" + s.key() + "': " + command + " needs it ("
                    + s.doc().replace("`", "") + "); put it in the --conf file or pass --set " + s.key() + "=...");
        }
        return v;
    }

    /** Whether the setting was given (defaults do not count). */
    public boolean isSet(Setting<?> s) {
        return values.containsKey(s);
    }

    /** A copy with one setting replaced, for a step that runs on behalf of another command. */
    public <T> JobSettings with(Setting<T> s, T value) {
        Map<Setting<?>, Object> v = new HashMap<>(values);
        v.put(s, value);
        return new JobSettings(raw, v);
    }

    public Map<String, String> sparkSettings() {
        Map<String, String> m = new TreeMap<>();
        raw.forEach((k, v) -> {
            if (k.startsWith("spark.")) {
                m.put(k, v.value());
            }
        });
        return m;
    }

    /** The settings as given, for a log line, with anything that looks like a credential masked. */
    public String describe() {
        StringBuilder b = new StringBuilder();
        raw.forEach((k, v) -> b.append("  ").append(k).append(" = ")
                .append(Redaction.value(k, v.value())).append('\n'));
        return b.toString();
    }
}
