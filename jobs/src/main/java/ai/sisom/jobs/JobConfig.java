package ai.sisom.jobs;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A job's configuration: a properties file from {@code conf/} plus {@code --set key=value} overrides.
 * {@code spark.*} keys go to Spark (without overriding what spark-submit already set); {@code sisom.*} keys
 * configure the job. Unknown {@code sisom.*} keys are an error, so a typo never silently falls back to a default.
 */
public final class JobConfig {
    private static final Pattern SECRET = Pattern.compile("(?i).*(secret|password|token|credential|access\\.key).*");
    private final Map<String, String> values = new TreeMap<>();
    private final String source;

    private JobConfig(String source) {
        this.source = source;
    }

    public static JobConfig load(Path file, List<String> overrides) throws IOException {
        JobConfig c = new JobConfig(file == null ? "--set" : file.toString());
        if (file != null) {
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("configuration file not found: " + file);
            }
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(file)) {
                p.load(r);
            }
            p.stringPropertyNames().forEach(k -> c.values.put(k, p.getProperty(k).trim()));
        }
        for (String o : overrides) {
            int eq = o.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--set expects key=value, got '" + o + "'");
            }
            c.values.put(o.substring(0, eq).trim(), o.substring(eq + 1).trim());
        }
        return c;
    }

    /** A copy with one setting changed (for a step run on behalf of another command). */
    public JobConfig with(String key, String value) {
        JobConfig c = new JobConfig(source);
        c.values.putAll(values);
        c.values.put(key, value);
        return c;
    }

    /** Fails on sisom.* keys the job does not know. */
    public void checkKnown(List<String> known) {
        for (String k : values.keySet()) {
            if (k.startsWith("sisom.") && !known.contains(k)) {
                throw new IllegalArgumentException("unknown setting '" + k + "' in " + source + "; known: " + known);
            }
        }
    }

    public Map<String, String> sparkSettings() {
        Map<String, String> m = new TreeMap<>();
        values.forEach((k, v) -> {
            if (k.startsWith("spark.")) {
                m.put(k, v);
            }
        });
        return m;
    }

    public String get(String key) {
        String v = values.get(key);
        if (v == null || v.isEmpty()) {
            throw new IllegalArgumentException("missing setting '" + key + "' (in " + source + " or --set " + key + "=...)");
        }
        return v;
    }

    public String get(String key, String dflt) {
        String v = values.get(key);
        return v == null || v.isEmpty() ? dflt : v;
    }

    public int getInt(String key, int dflt) {
        String v = values.get(key);
        if (v == null || v.isEmpty()) {
            return dflt;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("setting '" + key + "' must be an integer, got '" + v + "'");
        }
    }

    public boolean getBoolean(String key, boolean dflt) {
        String v = values.get(key);
        if (v == null || v.isEmpty()) {
            return dflt;
        }
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "1" -> true;
            case "false", "no", "0" -> false;
            default -> throw new IllegalArgumentException("setting '" + key + "' must be true or false, got '" + v + "'");
        };
    }

    /** The settings for a log line, with anything that looks like a credential masked. */
    public String describe() {
        StringBuilder b = new StringBuilder();
        values.forEach((k, v) -> b.append("  ").append(k).append(" = ")
                .append(SECRET.matcher(k).matches() ? "****" : v).append('\n'));
        return b.toString();
    }
}
