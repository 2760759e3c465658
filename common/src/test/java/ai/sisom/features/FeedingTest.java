package ai.sisom.features;

import ai.sisom.TestPaths;
import ai.sisom.image.ImagePreprocessor;
import ai.sisom.model.ModelCache;
import ai.sisom.model.SisomModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Decoding the next batch on other threads while the network runs the current one changes nothing in the results:
 * the same records and rejections, in input order, as decoding in the calling thread.
 */
class FeedingTest {
    static SisomModel model;
    static ImagePreprocessor pre;
    static List<FeatureExtractor.Item> items = new ArrayList<>();

    @BeforeAll
    static void load() throws Exception {
        model = ModelCache.get(TestPaths.sampleModel());
        pre = ImagePreprocessor.forModel(model.metadata(), ImagePreprocessor.Resize.NONE);
        Path dir = TestPaths.repoRoot().resolve("data-samples/pool/images");
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.sorted().limit(150).toList()) {
                items.add(new FeatureExtractor.Item(p.getFileName().toString(), Files.readAllBytes(p)));
            }
        }
        // bad items here and there, and items rejected upstream: they keep their places
        items.add(7, new FeatureExtractor.Item("broken.png", new byte[]{1, 2, 3}));
        items.add(40, FeatureExtractor.Item.rejected("unreadable.png", "cannot read the file"));
        items.add(41, new FeatureExtractor.Item("empty.png", null));
    }

    @Test
    void decodingAheadOnSeveralThreadsGivesTheRecordsOfDecodingInline() {
        List<FeatureExtractor.Result> inline = new FeatureExtractor(model, pre, 16, 0).extract(items);
        for (int threads : new int[]{1, 3}) {
            List<FeatureExtractor.Result> ahead = new FeatureExtractor(model, pre, 16, threads).extract(items);
            assertEquals(items.size(), ahead.size());
            for (int i = 0; i < items.size(); i++) {
                FeatureExtractor.Result a = inline.get(i);
                FeatureExtractor.Result b = ahead.get(i);
                assertEquals(a.rejected(), b.rejected(), "item " + i);
                if (a.rejected()) {
                    assertEquals(a.rejection(), b.rejection());
                    continue;
                }
                assertEquals(items.get(i).id(), b.record().id());
                assertArrayEquals(a.record().u(), b.record().u(), "u of item " + i + ", " + threads + " threads");
                assertArrayEquals(a.record().logits(), b.record().logits());
            }
        }
        assertEquals("broken.png", inline.get(7).rejection().id());
        assertEquals(new Rejection("unreadable.png", "cannot read the file"), inline.get(40).rejection());
        assertTrue(inline.get(41).rejected());
    }

    @Test
    void anAbandonedExtractionStopsItsDecodeThreads() throws Exception {
        FeatureExtractor fx = new FeatureExtractor(model, pre, 8, 2);
        Set<Thread> before = decodeThreads();
        FeatureExtractor.Extraction e = fx.extract(items.iterator());
        assertTrue(e.hasNext());
        e.next();
        Set<Thread> started = decodeThreads();
        started.removeAll(before);
        assertFalse(started.isEmpty(), "decode threads started");
        e.close();
        for (Thread t : started) {
            t.join(5000);
            assertFalse(t.isAlive(), t.getName() + " stopped");
        }
    }

    private static Set<Thread> decodeThreads() {
        Set<Thread> out = new HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("sisom-decode-") && t.isAlive()) {
                out.add(t);
            }
        }
        return out;
    }
}
