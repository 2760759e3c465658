package ai.sisom.jobs.output;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.UUID;

/**
 * Writes a job's result directory so that readers see either the previous complete result or the new complete
 * one: everything is written under a hidden staging directory beside the target, which replaces the target only
 * after the job succeeded. A failed job leaves the old result untouched (and its staging directory, hidden from
 * Spark readers by the leading dot, is removed on the next run).
 *
 * <p>On HDFS and local file systems the swap is two renames; on S3A a rename is a copy, so the swap is not atomic
 * there and the directory may be briefly absent, never mixed (readers that see no {@code _SUCCESS} must retry).
 */
public final class AtomicOutput {
    /** What a job writes under the staging directory; its result comes back once the output is committed. */
    @FunctionalInterface
    public interface Work<T> {
        T write(AtomicOutput staged) throws Exception;
    }

    private final FileSystem fs;
    private final Path target;
    private final Path staging;

    public AtomicOutput(String target, Configuration conf) throws IOException {
        this.target = new Path(target);
        this.fs = this.target.getFileSystem(conf);
        this.staging = new Path(this.target.getParent(), "." + this.target.getName() + ".staging-" + UUID.randomUUID());
        cleanOldStaging();
    }

    /**
     * Runs {@code work} against a fresh staging directory for {@code target} and swaps it in when the work returns;
     * when it throws, the staging directory is removed and the previous result stays.
     */
    public static <T> T write(String target, Configuration conf, Work<T> work) throws Exception {
        AtomicOutput output = new AtomicOutput(target, conf);
        T result;
        try {
            result = work.write(output);
            output.commit();
        } catch (Exception | Error e) {
            output.abort();
            throw e;
        }
        return result;
    }

    /** Where to write: a path under the staging directory. */
    public String staged(String child) {
        return new Path(staging, child).toString();
    }

    public Path stagingDir() { return staging; }

    /** Replaces the target with the staged result. */
    public void commit() throws IOException {
        fs.create(new Path(staging, "_SUCCESS"), true).close();
        Path old = new Path(target.getParent(), "." + target.getName() + ".old-" + UUID.randomUUID());
        boolean hadOld = fs.exists(target);
        if (hadOld && !fs.rename(target, old)) {
            throw new IOException("cannot move the previous result " + target + " aside");
        }
        if (!fs.rename(staging, target)) {
            if (hadOld) {
                fs.rename(old, target); // put the previous result back
            }
            throw new IOException("cannot move " + staging + " to " + target);
        }
        if (hadOld) {
            fs.delete(old, true);
        }
    }

    /** Removes the staging directory of a failed run. */
    public void abort() {
        try {
            fs.delete(staging, true);
        } catch (IOException ignored) {
            // best effort: the next run removes leftovers too
        }
    }

    private void cleanOldStaging() throws IOException {
        Path parent = target.getParent();
        if (parent == null || !fs.exists(parent)) {
            return;
        }
        String prefix = "." + target.getName() + ".";
        for (var st : fs.listStatus(parent)) {
            String n = st.getPath().getName();
            if (n.startsWith(prefix + "old-")) {
                // a run died between its two renames: the previous result is here, and it is still the answer
                if (!fs.exists(target)) {
                    fs.rename(st.getPath(), target);
                } else {
                    fs.delete(st.getPath(), true);
                }
            } else if (n.startsWith(prefix + "staging-")) {
                fs.delete(st.getPath(), true);
            }
        }
    }
}
