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

    public static Map<String, Object> read(String path, Configuration conf) throws IOException {
        Path p = new Path(path);
        try (Reader r = new InputStreamReader(p.getFileSystem(conf).open(p), StandardCharsets.UTF_8)) {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = JsonUtils.GSON.fromJson(r, Map.class);
            return m;
        }
    }
}
