package ai.sisom.jobs.output;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One writer at a time on a directory: a lock file created only if absent, refreshed while the run lives, removed
 * when it ends. Creation is atomic on local disks (O_EXCL), on HDFS (the NameNode refuses an existing path) and on
 * S3 through S3A's conditional create (If-None-Match, Hadoop 3.4.2+, on by default there).
 *
 * <p>A lock whose file has not been refreshed for the stale period belongs to a run that died (kill -9, a lost
 * driver): the next run takes it over and says so. A live run refreshes it every quarter of the period.
 */
public final class RunLock implements AutoCloseable {
    public static final String NAME = ".sisom-run.lock";

    private final FileSystem fs;
    private final Path path;
    private final String token;
    private final ScheduledExecutorService heartbeat;

    private RunLock(FileSystem fs, Path path, String token, Duration stale) {
        this.fs = fs;
        this.path = path;
        this.token = token;
        this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sisom-lock-heartbeat");
            t.setDaemon(true);
            return t;
        });
        long every = Math.max(1, stale.toMillis() / 4);
        heartbeat.scheduleAtFixedRate(this::refresh, every, every, TimeUnit.MILLISECONDS);
    }

    /** The lock file of a working directory: inside it, hidden from Spark's readers. */
    public static String onDirectory(String dir) {
        return new Path(dir, NAME).toString();
    }

    /** The lock file of a result directory: beside it, because the result itself is replaced whole. */
    public static String beside(String target) {
        Path t = new Path(target);
        return new Path(t.getParent(), "." + t.getName() + NAME).toString();
    }

    /**
     * Takes the lock, or fails with a message naming the holder.
     *
     * @param out where to say that a stale lock was taken over
     */
    public static RunLock acquire(String lockFile, Duration stale, Configuration conf, java.io.PrintStream out)
            throws IOException {
        Path lock = new Path(lockFile);
        FileSystem fs = lock.getFileSystem(conf);
        fs.mkdirs(lock.getParent());
        String token = UUID.randomUUID().toString();
        String owner = owner(token);
        if (tryCreate(fs, lock, owner)) {
            return new RunLock(fs, lock, token, stale);
        }
        FileStatus st;
        String holder;
        try {
            st = fs.getFileStatus(lock);
            holder = read(fs, lock);
        } catch (FileNotFoundException gone) {
            // released between our attempt and the look: try once more
            if (tryCreate(fs, lock, owner)) {
                return new RunLock(fs, lock, token, stale);
            }
            throw held(lock, "another run", stale);
        }
        Duration age = Duration.ofMillis(Math.max(0, System.currentTimeMillis() - st.getModificationTime()));
        if (age.compareTo(stale) < 0) {
            throw held(lock, holder, stale);
        }
        out.println("sisom: taking over a stale lock " + lock + " (" + holder + ", not refreshed for "
                + age.toMinutes() + " min)");
        fs.delete(lock, false);
        if (tryCreate(fs, lock, owner)) {
            return new RunLock(fs, lock, token, stale);
        }
        throw held(lock, "another run that took it over at the same time", stale);
    }

    private static IllegalArgumentException held(Path lock, String holder, Duration stale) {
        return new IllegalArgumentException("another sisom run is writing here: " + lock + " is held by " + holder
                + ". Wait for it to finish; a lock not refreshed for " + stale.toMinutes() + " min is taken over "
                + "automatically (sisom.lock.staleMinutes), or delete the file if you know that run is dead");
    }

    private static String owner(String token) {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "unknown-host";
        }
        return "pid " + ManagementFactory.getRuntimeMXBean().getPid() + " on " + host + " since " + Instant.now()
                + " token " + token;
    }

    private static boolean tryCreate(FileSystem fs, Path lock, String content) throws IOException {
        byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
        if ("file".equals(fs.getScheme())) {
            try {
                Files.write(Files.createFile(Paths.get(fs.makeQualified(lock).toUri())), bytes);
                return true;
            } catch (java.nio.file.FileAlreadyExistsException e) {
                return false;
            }
        }
        try (FSDataOutputStream o = (FSDataOutputStream) fs.createFile(lock).overwrite(false)
                .opt("fs.option.create.conditional.overwrite", true).build()) {
            o.write(bytes);
        } catch (FileAlreadyExistsException e) {
            return false;
        } catch (IOException e) {
            if (fs.exists(lock)) {
                return false; // S3A reports a refused conditional put when the stream closes
            }
            throw e;
        }
        // where creation is not atomic, the one whose content is there won
        return read(fs, lock).equals(content);
    }

    private static String read(FileSystem fs, Path lock) throws IOException {
        try (InputStream in = fs.open(lock)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        }
    }

    /** Rewrites the lock (same owner) so its modification time shows the run is alive. */
    private void refresh() {
        try {
            String content = read(fs, path);
            if (content.endsWith(token)) {
                try (FSDataOutputStream o = fs.create(path, true)) {
                    o.write(content.getBytes(StandardCharsets.UTF_8));
                }
            }
        } catch (IOException | RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(RunLock.class).warn("could not refresh {}: {}", path, e.toString());
        }
    }

    /** Releases the lock if it is still ours. */
    @Override
    public void close() {
        heartbeat.shutdownNow();
        try {
            if (read(fs, path).endsWith(token)) {
                fs.delete(path, false);
            }
        } catch (IOException | RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(RunLock.class).warn("could not release {}: {}", path, e.toString());
        }
    }
}
