package ai.sisom.model;

import ai.djl.Device;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Serializable;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Which device the calling task computes on: the first GPU assigned to it, or the CPU when it has none. Models and
 * distance kernels are cached per device and JVM ({@link ModelCache}, {@code ReferenceSet.kernel(Device)}), so the
 * tasks of an executor that share a GPU share one copy on it.
 *
 * @param resolver    the task's GPU addresses
 * @param cpuFallback what a task assigned a GPU does when the PyTorch natives cannot use it (CPU-only natives, or a
 *                    CUDA build that sees no GPU): false fails the task with a message saying what to change, true
 *                    logs a warning once per JVM and runs on the CPU
 */
public record DeviceBinding(DeviceResolver resolver, boolean cpuFallback) implements Serializable {
    /** The setting that turns the fallback on, named in the error. */
    public static final String FALLBACK_SETTING = "sisom.gpu.cpuFallback";
    /** Every task on the CPU, whatever it was assigned. */
    public static final DeviceBinding CPU = new DeviceBinding(DeviceResolver.NONE, false);

    private static final Logger LOG = LoggerFactory.getLogger(DeviceBinding.class);
    private static final AtomicBoolean WARNED_FALLBACK = new AtomicBoolean();
    private static final AtomicBoolean WARNED_SEVERAL = new AtomicBoolean();

    public DeviceBinding {
        if (resolver == null) {
            throw new IllegalArgumentException("a device binding needs a resolver");
        }
    }

    /** The calling task's device. */
    public Device device() {
        List<String> gpus = resolver.gpuAddresses();
        if (gpus.isEmpty()) {
            return Device.cpu();
        }
        String address = gpus.get(0);
        int ordinal;
        try {
            ordinal = Integer.parseInt(address.trim());
        } catch (NumberFormatException e) {
            throw new IllegalStateException("GPU address '" + address + "' assigned to this task is not a CUDA device "
                    + "ordinal: the executor's GPU discovery script (spark.executor.resource.gpu.discoveryScript) must "
                    + "report ordinals such as \"0\", \"1\" (conf/getGpusResources.sh does)");
        }
        if (gpus.size() > 1 && WARNED_SEVERAL.compareAndSet(false, true)) {
            LOG.warn("tasks are assigned {} GPUs ({}) and use the first; set spark.task.resource.gpu.amount=1 (or a "
                    + "fraction, to share a GPU between tasks) so that every GPU gets tasks of its own", gpus.size(), gpus);
        }
        String problem = Natives.cudaAvailable() ? null : Natives.cudaBuild()
                ? "the executor's CUDA libtorch sees no GPU (is the NVIDIA driver for CUDA 12.4, R550 or later, "
                + "installed and the GPU visible in the container?)"
                : "the executor's PyTorch natives are CPU-only (the default jar): use the GPU jar (./mvnw -Pcuda "
                + "package, docs/gpu.md) or a CUDA libtorch (spark.executorEnv.PYTORCH_LIBRARY_PATH)";
        if (problem == null) {
            return Device.gpu(ordinal);
        }
        if (!cpuFallback) {
            throw new IllegalStateException("this task was assigned GPU " + address + " (spark.task.resource.gpu.amount)"
                    + " but " + problem + "; or set " + FALLBACK_SETTING + "=true to run such tasks on the CPU");
        }
        if (WARNED_FALLBACK.compareAndSet(false, true)) {
            LOG.warn("a task was assigned GPU {} but {}; running on the CPU ({}=true)", address, problem,
                    FALLBACK_SETTING);
        }
        return Device.cpu();
    }
}
