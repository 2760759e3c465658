package ai.sisom.model;

import ai.djl.Device;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** A task's device: its first GPU, the CPU without one, and a clear error when the natives cannot use a GPU. */
class DeviceBindingTest {
    @Test
    void aTaskWithoutAGpuRunsOnTheCpu() {
        assertEquals(Device.cpu(), new DeviceBinding(List::of, false).device());
        assertEquals(Device.cpu(), DeviceBinding.CPU.device());
    }

    @Test
    void aGpuTheNativesCannotUseFailsTheTaskNamingTheSettingToChange() {
        assumeFalse(Natives.cudaAvailable(), "this machine's natives can use a GPU");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new DeviceBinding(() -> List.of("1"), false).device());
        assertTrue(e.getMessage().contains("assigned GPU 1"), e.getMessage());
        assertTrue(e.getMessage().contains(DeviceBinding.FALLBACK_SETTING + "=true"), e.getMessage());
        assertTrue(e.getMessage().contains(Natives.cudaBuild() ? "sees no GPU" : "CPU-only"), e.getMessage());
    }

    @Test
    void withTheFallbackSuchATaskRunsOnTheCpu() {
        assumeFalse(Natives.cudaAvailable(), "this machine's natives can use a GPU");
        assertEquals(Device.cpu(), new DeviceBinding(() -> List.of("0", "1"), true).device());
    }

    @Test
    void anAddressThatIsNoDeviceOrdinalNamesTheDiscoveryScript() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new DeviceBinding(() -> List.of("GPU-3f2a"), true).device());
        assertTrue(e.getMessage().contains("spark.executor.resource.gpu.discoveryScript"), e.getMessage());
    }
}
