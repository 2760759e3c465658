package ai.sisom.jobs.commands;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RunCommandChangesTest {
    @Test
    void aReferenceOfAnOlderFormatIsStaleWhenTheLabeledSetCanRebuildItAndUsableWhenNot() {
        Map<String, String> had = Map.of("model", "m1", "steepness", "s", "oodThreshold", "auto");
        Map<String, String> want = Map.of("model", "m1", "steepness", "s", "oodThreshold", "auto",
                "referenceFormat", "3");
        List<String> withLabeled = RunCommand.changes(had, want, true);
        assertEquals(1, withLabeled.size(), withLabeled.toString());
        assertTrue(withLabeled.get(0).startsWith("referenceFormat was not recorded, now '3'"), withLabeled.get(0));
        // without the labeled set it cannot be rebuilt, and the SISOM scores it holds are still right
        assertEquals(List.of(), RunCommand.changes(had, want, false));
        // any other difference is stale either way
        assertEquals(1, RunCommand.changes(Map.of("model", "m0", "steepness", "s", "oodThreshold", "auto",
                "referenceFormat", "3"), want, false).size());
    }
}
