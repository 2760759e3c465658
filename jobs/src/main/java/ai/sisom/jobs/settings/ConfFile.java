package ai.sisom.jobs.settings;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Finds and reads the {@code --conf} file before Spark starts, wherever spark-submit's deploy mode left it:
 * <ol>
 *   <li>a path on the driver's disk (client mode; YARN cluster mode, where {@code --files} are localised into the
 *       driver's working directory);</li>
 *   <li>a Hadoop URI ({@code s3a://}, {@code hdfs://}, {@code file:}), read through Hadoop's FileSystem with the
 *       {@code spark.hadoop.*} settings spark-submit was given;</li>
 *   <li>a file shipped with {@code --files} (or {@code spark.files}, {@code spark.yarn.dist.files}), by its name or
 *       {@code #alias}: read from the URI those settings name. That is the file {@code SparkFiles.get(name)} would
 *       return once the SparkContext had fetched it, but read before Spark starts, so that settings are still
 *       checked before anything is launched (standalone cluster mode, Kubernetes, and client mode with a relative
 *       name).</li>
 * </ol>
 */
public final class ConfFile {
    private static final List<String> SHIPPED = List.of("spark.files", "spark.yarn.dist.files");

    /** The file's text and where it was read from (for error messages). */
    public record Text(String text, String origin) {}

    private ConfFile() {}

    /**
     * Reads {@code --conf name}; {@code sparkConf} holds the {@code spark.*} settings spark-submit passed to the
     * driver (its system properties).
     */
    public static Text read(String name, Map<String, String> sparkConf) throws IOException {
        if (hasScheme(name)) {
            return new Text(readHadoop(name, sparkConf), name);
        }
        java.nio.file.Path local = java.nio.file.Paths.get(name);
        if (Files.isRegularFile(local)) {
            return new Text(Files.readString(local, StandardCharsets.UTF_8), name);
        }
        String fileName = local.getFileName() == null ? name : local.getFileName().toString();
        for (String key : SHIPPED) {
            for (String entry : entries(sparkConf.get(key))) {
                URI u = URI.create(entry.replace(" ", "%20"));
                String alias = u.getFragment() != null ? u.getFragment() : new Path(u.getPath()).getName();
                if (alias.equals(fileName) || alias.equals(name)) {
                    String source = u.getFragment() == null ? entry : entry.substring(0, entry.lastIndexOf('#'));
                    return new Text(readHadoop(source, sparkConf), name + " (shipped with --files from " + source + ")");
                }
            }
        }
        StringBuilder where = new StringBuilder();
        for (String key : SHIPPED) {
            if (sparkConf.containsKey(key)) {
                where.append("; ").append(key).append(" = ").append(sparkConf.get(key));
            }
        }
        throw new SettingsException("configuration file not found: " + name + " (not on the driver's disk, not a "
                + "Hadoop URI, and not among the files shipped with --files" + where + ")");
    }

    private static boolean hasScheme(String s) {
        int colon = s.indexOf(':');
        // a drive letter or a plain name is not a scheme; s3a://, hdfs://, file:/ are
        return colon > 1 && s.substring(0, colon).matches("[A-Za-z][A-Za-z0-9+.-]*");
    }

    private static List<String> entries(String list) {
        List<String> out = new ArrayList<>();
        if (list != null) {
            for (String e : list.split(",")) {
                if (!e.isBlank()) {
                    out.add(e.trim());
                }
            }
        }
        return out;
    }

    private static String readHadoop(String uri, Map<String, String> sparkConf) throws IOException {
        Configuration hc = new Configuration();
        // what SparkHadoopUtil does for the SparkContext: spark.hadoop.X is Hadoop's X
        sparkConf.forEach((k, v) -> {
            if (k.startsWith("spark.hadoop.")) {
                hc.set(k.substring("spark.hadoop.".length()), v);
            }
        });
        Path p = new Path(uri);
        try {
            FileSystem fs = p.getFileSystem(hc);
            try (InputStream in = fs.open(p)) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        } catch (FileNotFoundException e) {
            throw new SettingsException("configuration file not found: " + uri);
        } catch (IOException | RuntimeException e) {
            throw new SettingsException("cannot read the configuration file " + uri + ": " + e.getMessage());
        }
    }
}
