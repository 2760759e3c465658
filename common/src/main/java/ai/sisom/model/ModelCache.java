package ai.sisom.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One loaded model per JVM and file: a Spark executor runs many tasks, and loading the network (and extracting
 * libtorch) per task would dominate. Models live until the JVM exits, as executors do.
 */
public final class ModelCache {
    private static final ConcurrentHashMap<String, SisomModel> MODELS = new ConcurrentHashMap<>();

    private ModelCache() {}

    /** The model at {@code modelFile}, loading it on first use (thread-safe, loaded once). */
    public static SisomModel get(Path modelFile) {
        Path abs = modelFile.toAbsolutePath().normalize();
        String key;
        try {
            key = abs + "@" + Files.getLastModifiedTime(abs).toMillis();
        } catch (IOException e) {
            throw new UncheckedIOException("model file not found: " + abs, e);
        }
        return MODELS.computeIfAbsent(key, k -> {
            try {
                return SisomModel.load(abs);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
