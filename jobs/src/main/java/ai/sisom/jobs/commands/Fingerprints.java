package ai.sisom.jobs.commands;

import ai.sisom.model.ModelCache;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the nightly run compares to know whether its state is current: the model's content, and the listing of an
 * input directory (every file's relative path, length and modification time). A listing is cheap on every file
 * system (one paged listing on S3) and changes when a file is added, removed, replaced or rewritten.
 */
final class Fingerprints {
    private Fingerprints() {}

    /** The files of a listing and their digest. */
    record Listing(int files, long bytes, String digest) {
        boolean empty() {
            return files == 0;
        }
    }

    private static final ConcurrentHashMap<String, String> MODELS = new ConcurrentHashMap<>();

    /** SHA-256 of the model file and its metadata JSON (content, not names): a re-export changes it. */
    static String model(String modelUri, Configuration conf) throws IOException {
        Path pt = new Path(modelUri);
        Path json = new Path(ModelCache.jsonUriOf(modelUri));
        FileSystem fs = pt.getFileSystem(conf);
        FileStatus a = fs.getFileStatus(pt);
        FileStatus b = fs.getFileStatus(json);
        String key = fs.makeQualified(pt) + "@" + a.getLen() + "/" + a.getModificationTime() + "+" + b.getLen() + "/"
                + b.getModificationTime();
        String known = MODELS.get(key);
        if (known != null) {
            return known;
        }
        MessageDigest md = sha256();
        for (Path p : List.of(pt, json)) {
            try (InputStream in = fs.open(p)) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) {
                    md.update(buf, 0, n);
                }
            }
        }
        String digest = "sha256:" + HexFormat.of().formatHex(md.digest());
        MODELS.put(key, digest);
        return digest;
    }

    /**
     * The listing of every file under {@code dir} (or of {@code dir} itself when it is a file). With
     * {@code dataOnly}, names starting with {@code _} or {@code .} are left out, as Spark's readers of Parquet,
     * ORC and CSV leave them out (commit markers, checksums); image trees count every file.
     */
    static Listing listing(String dir, boolean dataOnly, Configuration conf) throws IOException {
        Path root = new Path(dir);
        FileSystem fs = root.getFileSystem(conf);
        if (!fs.exists(root)) {
            throw new IllegalArgumentException(dir + " does not exist");
        }
        String prefix = fs.makeQualified(root).toString();
        List<String> entries = new ArrayList<>();
        long bytes = 0;
        RemoteIterator<LocatedFileStatus> it = fs.listFiles(root, true);
        while (it.hasNext()) {
            LocatedFileStatus st = it.next();
            String rel = fs.makeQualified(st.getPath()).toString();
            rel = rel.startsWith(prefix) ? rel.substring(prefix.length()) : rel;
            if (dataOnly && hidden(rel)) {
                continue;
            }
            entries.add(rel + '\t' + st.getLen() + '\t' + st.getModificationTime());
            bytes += st.getLen();
        }
        entries.sort(null);
        MessageDigest md = sha256();
        for (String e : entries) {
            md.update(e.getBytes(StandardCharsets.UTF_8));
            md.update((byte) '\n');
        }
        return new Listing(entries.size(), bytes, "sha256:" + HexFormat.of().formatHex(md.digest()));
    }

    private static boolean hidden(String rel) {
        for (String part : rel.split("/")) {
            if (part.startsWith("_") || part.startsWith(".")) {
                return true;
            }
        }
        return false;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
