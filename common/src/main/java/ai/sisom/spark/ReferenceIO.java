package ai.sisom.spark;

import ai.sisom.reference.SisomReference;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;

/** Reads and writes the reference artifact ({@code reference.json} + {@code points.bin}) on any Hadoop file system. */
public final class ReferenceIO {
    public static final String JSON = "reference.json";
    public static final String POINTS = "points.bin";

    private ReferenceIO() {}

    public static void write(SisomReference ref, String dir, Configuration conf) throws IOException {
        Path d = new Path(dir);
        FileSystem fs = d.getFileSystem(conf);
        try (Writer w = new OutputStreamWriter(fs.create(new Path(d, JSON), false), StandardCharsets.UTF_8)) {
            ref.writeJson(w);
        }
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(fs.create(new Path(d, POINTS), false)))) {
            ref.writePoints(out);
        }
    }

    public static SisomReference read(String dir, Configuration conf) throws IOException {
        Path d = new Path(dir);
        FileSystem fs = d.getFileSystem(conf);
        try (Reader r = new InputStreamReader(fs.open(new Path(d, JSON)), StandardCharsets.UTF_8);
             DataInputStream in = new DataInputStream(new BufferedInputStream(fs.open(new Path(d, POINTS))))) {
            return SisomReference.read(r, in);
        } catch (FileNotFoundException e) {
            throw new IOException("no reference artifact at " + dir + " (build it with the build-reference command): "
                    + e.getMessage(), e);
        }
    }
}
