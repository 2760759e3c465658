package ai.sisom.model;

import ai.sisom.TestPaths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class ModelMetadataTest {
    @TempDir
    Path dir;

    @Test
    void bundledSampleMetadataDescribesTheLayers() throws IOException {
        Path json = TestPaths.repoRoot().resolve("data-samples/model/fmnist_resnet18w16.json");
        ModelMetadata m = ModelMetadata.read(json);
        assertEquals(10, m.numClasses());
        assertEquals(java.util.List.of("layer1", "layer2", "layer3", "avgpool"), m.layerNames());
        assertEquals(m.featureSize(), m.layerOffsets()[m.layers().size()]);
        assertEquals(m.penultimateSize(), m.layers().get(3).size(), "pooled layer4 is the penultimate feature");
        assertEquals("channels_last", m.memoryFormat(), "the bundled model is exported with the current default");
    }

    @Test
    void exportsWithoutAMemoryFormatReadAsContiguous() throws IOException {
        String good = Files.readString(TestPaths.repoRoot().resolve("data-samples/model/fmnist_resnet18w16.json"));
        Path old = dir.resolve("old.json");
        Files.writeString(old, good.replace("\"memoryFormat\": \"channels_last\",", ""));
        assertEquals("contiguous", ModelMetadata.read(old).memoryFormat());
    }

    @Test
    void missingFileSaysHowToCreateIt() {
        IOException e = assertThrows(IOException.class, () -> ModelMetadata.read(dir.resolve("none.json")));
        assertTrue(e.getMessage().contains("sisom_export.py"), e.getMessage());
    }

    @Test
    void invalidFieldsAreNamed() throws IOException {
        String good = Files.readString(TestPaths.repoRoot().resolve("data-samples/model/fmnist_resnet18w16.json"));
        assertInvalid(good.replace("\"numClasses\": 10", "\"numClasses\": 11"), "classNames");
        assertInvalid(good.replace("\"format\": \"sisom-contract\"", "\"format\": \"onnx\""), "format");
        assertInvalid(good.replace("\"std\": [\n    0.353", "\"std\": [\n    0.0"), "std");
        assertInvalid("{ not json", "not valid JSON");
    }

    private void assertInvalid(String json, String expected) throws IOException {
        Path f = dir.resolve("m.json");
        Files.writeString(f, json);
        IOException e = assertThrows(IOException.class, () -> ModelMetadata.read(f));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
