package ai.sisom.model;

import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import ai.djl.pytorch.jni.LibUtils;
import ai.djl.util.ClassLoaderUtils;
import ai.djl.util.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * The PyTorch natives of this JVM: whether they are a CUDA build, and getting a bundled CUDA build loaded where DJL
 * would not load it.
 *
 * <p>Why {@link #prepare}: DJL uses a CUDA native jar from the classpath only when it finds the system's CUDA
 * runtime library ({@code libcudart}) and a GPU; otherwise it ignores the jar and tries to download CPU natives,
 * which fails offline. A CUDA libtorch brings its own runtime and runs its CPU kernels without any GPU, so the GPU
 * jar must also run on the driver, on CPU executors, and in GPU containers that have the driver but no CUDA
 * toolkit. {@link #prepare} extracts such a bundle where DJL would (its cache directory, {@code DJL_CACHE_DIR}) and
 * names it to DJL as the library to load ({@code PYTORCH_LIBRARY_PATH}, {@code PYTORCH_FLAVOR}). A libtorch the site
 * provides ({@code PYTORCH_LIBRARY_PATH} set by the user) is left alone.
 */
public final class Natives {
    private static final Logger LOG = LoggerFactory.getLogger(Natives.class);
    private static final String BUNDLE = "native/lib/pytorch.properties";
    private static boolean prepared;

    private Natives() {}

    /**
     * Makes the PyTorch engine loadable offline; call before anything touches the engine. Idempotent and
     * thread-safe; does nothing once the engine is loaded.
     */
    public static synchronized void prepare() {
        if (prepared) {
            return;
        }
        prepared = true;
        // DJL only downloads natives when they are missing; the native jar ships them, and offline mode turns any
        // attempt into an error instead of a silent network call
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        if (Utils.getEnvOrSystemProperty("PYTORCH_LIBRARY_PATH") != null) {
            return;   // a site-provided libtorch
        }
        Properties bundle = new Properties();
        try {
            URL url = ClassLoaderUtils.getResource(BUNDLE);
            if (url == null) {
                return;
            }
            try (InputStream in = url.openStream()) {
                bundle.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + BUNDLE + " of the PyTorch native jar", e);
        }
        String flavor = bundle.getProperty("flavor", "");
        if (!flavor.startsWith("cu")) {
            return;   // CPU natives: DJL loads them on every machine
        }
        String version = bundle.getProperty("version");
        String classifier = bundle.getProperty("classifier");
        // DJL loads every library of the bundle up front; NVRTC's wrapper is the one that links against the driver
        // (libcuda.so.1), and libtorch opens it itself when it needs it, which it never does without a driver: so
        // on a machine without one it is left out, in a directory of its own
        boolean driver = driverPresent();
        Path dir = Utils.getEngineCacheDir("pytorch").resolve(version + "-" + flavor + "-" + classifier
                + (driver ? "" : "-nodriver"));
        if (!Files.isRegularFile(dir.resolve(System.mapLibraryName("torch")))) {
            extract(bundle, "pytorch/" + flavor + "/" + classifier + "/", dir,
                    driver ? null : System.mapLibraryName("caffe2_nvrtc"));
        }
        System.setProperty("PYTORCH_LIBRARY_PATH", dir.toString());
        System.setProperty("PYTORCH_FLAVOR", flavor);
    }

    /** Whether the dynamic linker finds the NVIDIA driver's libcuda.so.1 (LD_LIBRARY_PATH or ld.so's cache). */
    static boolean driverPresent() {
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) {
            for (String d : ld.split(":")) {
                if (!d.isEmpty() && Files.exists(Paths.get(d, "libcuda.so.1"))) {
                    return true;
                }
            }
        }
        try {
            byte[] cache = Files.readAllBytes(Paths.get("/etc/ld.so.cache"));
            byte[] name = "libcuda.so.1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            outer:
            for (int i = 0; i + name.length <= cache.length; i++) {
                for (int j = 0; j < name.length; j++) {
                    if (cache[i + j] != name[j]) {
                        continue outer;
                    }
                }
                return true;
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    /** Copies the bundle's libraries into {@code dir}, atomically: several executors of a node may race here. */
    private static void extract(Properties bundle, String prefix, Path dir, String leaveOut) {
        long t0 = System.nanoTime();
        Path tmp = null;
        try {
            Files.createDirectories(dir.getParent());
            tmp = Files.createTempDirectory(dir.getParent(), "sisom-natives-");
            for (String lib : bundle.getProperty("libraries", "").split(",")) {
                if (lib.equals(leaveOut)) {
                    continue;
                }
                try (InputStream in = ClassLoaderUtils.getResourceAsStream(prefix + lib)) {
                    Files.copy(in, tmp.resolve(lib), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
                tmp = null;
            } catch (IOException e) {
                if (!Files.isRegularFile(dir.resolve(System.mapLibraryName("torch")))) {
                    throw e;
                }
                // another JVM extracted it first
            }
            LOG.info("extracted the CUDA PyTorch natives to {} in {} s", dir,
                    String.format(java.util.Locale.ROOT, "%.1f", (System.nanoTime() - t0) / 1e9));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract the CUDA PyTorch natives to " + dir
                    + " (DJL_CACHE_DIR sets the directory; about 4 GB are needed)", e);
        } finally {
            if (tmp != null) {
                deleteTree(tmp);
            }
        }
    }

    private static void deleteTree(Path p) {
        try (Stream<Path> all = Files.walk(p)) {
            all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // a temporary directory left behind; nothing depends on it
        }
    }

    /** Whether the loaded libtorch is a CUDA build (whether or not a GPU is visible). Loads the engine. */
    public static boolean cudaBuild() {
        prepare();
        Engine.getEngine("PyTorch");
        return Files.exists(Paths.get(LibUtils.getLibtorchPath()).resolve(System.mapLibraryName("torch_cuda")));
    }

    /** Whether libtorch can run on a GPU here: a CUDA build that sees at least one device. Loads the engine. */
    public static boolean cudaAvailable() {
        prepare();
        return Engine.getEngine("PyTorch").hasCapability(StandardCapabilities.CUDA);
    }
}
