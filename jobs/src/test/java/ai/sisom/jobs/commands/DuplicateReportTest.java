package ai.sisom.jobs.commands;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DuplicateReportTest {
    @Test
    void groupsOfIdenticalImagesArePrintedAsAFewIdsAndTheGroupSizeNotEveryId() {
        List<Map<String, Object>> examples = IntStream.range(0, 10).mapToObj(g -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("ids", IntStream.range(0, 5).mapToObj(i -> "g" + g + "-id" + i).toList());
            m.put("count", g == 1 ? 5 : 1000);
            return m;
        }).toList();
        Map<String, Object> same = new LinkedHashMap<>();
        same.put("groups", 981L);
        same.put("examples", examples);
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("sameImageDifferentIds", same);
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ScoreStep.printDuplicates(new PrintStream(buf, true, StandardCharsets.UTF_8), summary);
        String out = buf.toString(StandardCharsets.UTF_8);
        assertEquals(1, out.lines().count(), out);
        assertTrue(out.contains("981 images appear under more than one id"), out);
        assertTrue(out.contains("[g0-id0, g0-id1, g0-id2, g0-id3, g0-id4 and 995 more]"), out);
        assertTrue(out.contains("[g1-id0, g1-id1, g1-id2, g1-id3, g1-id4]"), "a whole group is shown whole: " + out);
        assertTrue(out.contains("g2-id0"), out);
        assertFalse(out.contains("g3-"), "three groups are printed, the rest are in summary.json: " + out);
    }
}
