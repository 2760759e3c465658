package ai.sisom.model;

import ai.djl.Device;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One loaded model per JVM, model version and device: a Spark executor runs many tasks, and loading the network per task
 * would dominate. A model on a Hadoop file system (s3a://, hdfs://) is copied once to a local directory, because
 * libtorch loads from local files; the copy is keyed by path, length and modification time, so a replaced model
 * is picked up by the next job. Loaded models live as long as the JVM, like executors do; the tasks of an executor
 * that run on one device share its model there.
 */
public final class ModelCache {
    private static final ConcurrentHashMap<String, SisomModel> MODELS = new ConcurrentHashMap<>();

    private ModelCache() {}

    /** The model at a local path on the CPU, loading it on first use (thread-safe, loaded once). */
    public static SisomModel get(Path modelFile) {
        return get(modelFile, Device.cpu());
    }

    /** The model at a local path on a device, loading it on first use (thread-safe, loaded once per device). */
    public static SisomModel get(Path modelFile, Device device) {
        Path abs = modelFile.toAbsolutePath().normalize();
        String key;
        try {
            key = abs + "@" + Files.getLastModifiedTime(abs).toMillis() + "#" + Files.size(abs);
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("model file not found: " + abs, e));
        }
        return MODELS.computeIfAbsent(key + " on " + device, k -> load(abs, device));
    }

    /** The model at any Hadoop URI (local path, file:, hdfs:, s3a:), with its metadata JSON beside it, on the CPU. */
    public static SisomModel get(String modelUri, Configuration conf) {
        return get(modelUri, conf, Device.cpu());
    }

    /** As {@link #get(String, Configuration)}, on a device. */
    public static SisomModel get(String modelUri, Configuration conf, Device device) {
        try {
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(modelUri);
            FileSystem fs = p.getFileSystem(conf);
            if ("file".equals(fs.getScheme())) {
                return get(Paths.get(fs.makeQualified(p).toUri()), device);
            }
            FileStatus st = fs.getFileStatus(p);
            String key = fs.makeQualified(p) + "@" + st.getModificationTime() + "#" + st.getLen();
            // one local copy per model version, whatever the device
            return MODELS.computeIfAbsent(key + " on " + device, k -> load(localCopy(fs, p, key), device));
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("cannot read model " + modelUri + ": " + e.getMessage(), e));
        }
    }

    /** Reads a model's metadata from any Hadoop URI (the driver uses this to fail fast). */
    public static ModelMetadata metadata(String modelUri, Configuration conf) throws IOException {
        return metadataFile(jsonUriOf(modelUri), conf);
    }

    /** Reads a model metadata file ({@code net.json}, or the {@code model.json} extract stores) from any Hadoop URI. */
    public static ModelMetadata metadataFile(String jsonUri, Configuration conf) throws IOException {
        org.apache.hadoop.fs.Path json = new org.apache.hadoop.fs.Path(jsonUri);
        FileSystem fs = json.getFileSystem(conf);
        if ("file".equals(fs.getScheme())) {
            return ModelMetadata.read(Paths.get(fs.makeQualified(json).toUri()));
        }
        Path tmp = Files.createTempFile("sisom-model-", ".json");
        try (InputStream in = fs.open(json)) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            return ModelMetadata.read(tmp);
        } catch (java.io.FileNotFoundException e) {
            throw new IOException("model metadata not found: " + json, e);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The metadata file beside a model: {@code net.pt -> net.json}. */
    public static String jsonUriOf(String modelUri) {
        if (!modelUri.endsWith(".pt")) {
            throw new IllegalArgumentException("model must be a TorchScript .pt file with its .json beside it: " + modelUri);
        }
        return modelUri.substring(0, modelUri.length() - 3) + ".json";
    }

    private static SisomModel load(Path file, Device device) {
        try {
            return SisomModel.load(file, device);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path localCopy(FileSystem fs, org.apache.hadoop.fs.Path pt, String key) {
        try {
            Path dir = Paths.get(System.getProperty("java.io.tmpdir"), "sisom-models",
                    Integer.toHexString(key.hashCode()));
            Files.createDirectories(dir);
            Path local = dir.resolve(pt.getName());
            for (org.apache.hadoop.fs.Path src : new org.apache.hadoop.fs.Path[]{
                    pt, new org.apache.hadoop.fs.Path(jsonUriOf(pt.toString()))}) {
                Path dst = dir.resolve(src.getName());
                Path part = Files.createTempFile(dir, src.getName(), ".part");
                try (InputStream in = fs.open(src)) {
                    Files.copy(in, part, StandardCopyOption.REPLACE_EXISTING);
                }
                Files.move(part, dst, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            return local;
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("cannot copy model " + pt + " to local disk: " + e.getMessage(), e));
        }
    }
}
