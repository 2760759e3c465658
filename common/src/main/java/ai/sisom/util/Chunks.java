package ai.sisom.util;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;

/**
 * Splits 0..n into contiguous chunks and runs them on the common fork-join pool (the calling thread takes part), for
 * the driver- and task-side loops whose items are independent: the distance kernel's row scan and the greedy
 * selection's candidate pass. Below {@code perTask} items per chunk the fork costs more than the work, so small n
 * runs on the calling thread alone.
 */
public final class Chunks {
    private Chunks() {}

    /** Work on items from..to (exclusive); returns that chunk's result. */
    public interface Range<T> {
        T run(int from, int to);
    }

    /** Runs body over 0..n in chunks; the chunks' results, in chunk order. */
    public static <T> List<T> map(int n, int perTask, Range<T> body) {
        int tasks = Math.max(1, Math.min(ForkJoinPool.getCommonPoolParallelism() + 1, n / perTask));
        if (tasks == 1) {
            return java.util.Collections.singletonList(body.run(0, n));
        }
        List<ForkJoinTask<T>> parts = new ArrayList<>(tasks);
        for (int t = 0; t < tasks; t++) {
            int from = (int) ((long) n * t / tasks);
            int to = (int) ((long) n * (t + 1) / tasks);
            parts.add(ForkJoinTask.adapt(() -> body.run(from, to)));
        }
        List<T> out = new ArrayList<>(tasks);
        for (ForkJoinTask<T> part : ForkJoinTask.invokeAll(parts)) {
            out.add(part.join());
        }
        return out;
    }
}
