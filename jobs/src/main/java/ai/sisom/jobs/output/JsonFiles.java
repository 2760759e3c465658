package ai.sisom.jobs.output;

import ai.djl.util.JsonUtils;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** summary.json and its kin, on any Hadoop file system. */
public final class JsonFiles {
    private JsonFiles() {}

    public static void write(Map<String, Object> m, String path, Configuration conf) throws IOException {
        Path p = new Path(path);
        try (Writer w = new OutputStreamWriter(p.getFileSystem(conf).create(p, true), StandardCharsets.UTF_8)) {
            JsonUtils.GSON_PRETTY.toJson(m, w);
        }
    }

    /** A small text file (one line). */
    public static void writeText(String text, String path, Configuration conf) throws IOException {
        Path p = new Path(path);
        try (Writer w = new OutputStreamWriter(p.getFileSystem(conf).create(p, true), StandardCharsets.UTF_8)) {
            w.write(text);
            w.write('\n');
        }
    }

    /** The first line of a small text file, or null when there is none. */
    public static String readText(String path, Configuration conf) throws IOException {
        Path p = new Path(path);
        org.apache.hadoop.fs.FileSystem fs = p.getFileSystem(conf);
        if (!fs.exists(p)) {
            return null;
        }
        try (Reader r = new InputStreamReader(fs.open(p), StandardCharsets.UTF_8)) {
            String s = new java.io.BufferedReader(r).readLine();
            return s == null ? null : s.trim();
        }
    }

    public static Map<String, Object> read(String path, Configuration conf) throws IOException {
        Path p = new Path(path);
        try (Reader r = new InputStreamReader(p.getFileSystem(conf).open(p), StandardCharsets.UTF_8)) {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = JsonUtils.GSON.fromJson(r, Map.class);
            return m;
        }
    }
}
