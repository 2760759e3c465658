package ai.sisom.spark;

import ai.sisom.model.DeviceBinding;
import ai.sisom.model.DeviceResolver;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

import java.util.List;

/**
 * The GPUs Spark assigned to the calling task: the addresses of its {@code gpu} resource
 * ({@code spark.task.resource.gpu.amount} of the executor's {@code spark.executor.resource.gpu.amount}, found by the
 * executor's discovery script). Outside a task, or in local mode, which assigns none, the task has no GPU.
 */
public final class TaskGpus implements DeviceResolver {
    private static final long serialVersionUID = 1L;
    /** Spark's name of the GPU resource. */
    public static final String RESOURCE = "gpu";

    /** Each task on its own GPU, or the CPU; {@code cpuFallback}: see {@link DeviceBinding}. */
    public static DeviceBinding binding(boolean cpuFallback) {
        return new DeviceBinding(new TaskGpus(), cpuFallback);
    }

    @Override
    public List<String> gpuAddresses() {
        TaskContext task = TaskContext.get();
        if (task == null) {
            return List.of();
        }
        ResourceInformation gpu = task.resourcesJMap().get(RESOURCE);
        return gpu == null ? List.of() : List.of(gpu.addresses());
    }
}
