package ai.sisom.features;

import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Supplier;

/**
 * Streams results produced a batch at a time: the next batch is computed only when the previous one is used up
 * and the source still has input. This is the shape of every stage that runs inside a Spark
 * {@code mapPartitions}: one batch in memory, however large the partition.
 *
 * @param <R> result type
 */
public final class Batches<R> implements Iterator<R> {
    private final Iterator<?> source;
    private final Supplier<List<R>> nextBatch;
    private List<R> pending = List.of();
    private int next;

    /**
     * @param source    the input; {@code nextBatch} consumes from it
     * @param nextBatch reads one batch from the source and returns its results in order
     */
    public Batches(Iterator<?> source, Supplier<List<R>> nextBatch) {
        this.source = source;
        this.nextBatch = nextBatch;
    }

    @Override
    public boolean hasNext() {
        while (next >= pending.size() && source.hasNext()) {
            pending = nextBatch.get();
            next = 0;
        }
        return next < pending.size();
    }

    @Override
    public R next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return pending.get(next++);
    }
}
