package ai.sisom.model;

import java.io.Serializable;
import java.util.List;

/**
 * The GPUs assigned to the calling task. On Spark this is the task's share of the executor's GPUs
 * ({@code spark.task.resource.gpu.amount}), read from the task's context ({@code ai.sisom.spark.TaskGpus}); it is
 * an interface so that this package stays free of Spark and tests can watch what each task asks for.
 * Implementations travel to the executors inside the stage's closure.
 */
@FunctionalInterface
public interface DeviceResolver extends Serializable {
    /** No GPU for any task: everything runs on the CPU. */
    DeviceResolver NONE = List::of;

    /**
     * The addresses of the GPUs assigned to the calling task, as the executor's discovery script reported them
     * (CUDA device ordinals as this process sees them); empty when the task has none.
     */
    List<String> gpuAddresses();
}
