package ai.sisom.jobs.output;

import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Progress of long jobs in the driver log, beside the Spark UI: per stage, tasks done of total, items (records read
 * or written) done, rate and estimated time left, at most once per interval.
 */
public final class ProgressListener extends SparkListener {
    private static final Logger LOG = LoggerFactory.getLogger(ProgressListener.class);

    private static final class Stage {
        final String name;
        final int tasks;
        final long start = System.nanoTime();
        int done;
        long items;
        long lastReport;

        Stage(String name, int tasks) {
            this.name = name;
            this.tasks = tasks;
        }
    }

    private final Map<Integer, Stage> stages = new ConcurrentHashMap<>();
    private final long intervalNanos;
    private final Consumer<String> sink;

    public ProgressListener(long intervalMillis) {
        this(intervalMillis, LOG::info);
    }

    public ProgressListener(long intervalMillis, Consumer<String> sink) {
        this.intervalNanos = intervalMillis * 1_000_000L;
        this.sink = sink;
    }

    @Override
    public void onStageSubmitted(SparkListenerStageSubmitted e) {
        String name = e.stageInfo().name();
        stages.put(e.stageInfo().stageId(), new Stage(name.contains(" at ") ? name.substring(0, name.indexOf(" at ")) : name,
                e.stageInfo().numTasks()));
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd e) {
        Stage s = stages.get(e.stageId());
        if (s == null || e.taskMetrics() == null) {
            return;
        }
        long now = System.nanoTime();
        String line = null;
        synchronized (s) {
            s.done++;
            s.items += Math.max(e.taskMetrics().inputMetrics().recordsRead(),
                    e.taskMetrics().outputMetrics().recordsWritten());
            // stages shorter than the interval stay quiet; longer ones report every interval and when they end
            boolean longStage = now - s.start >= intervalNanos;
            if (longStage && (now - s.lastReport >= intervalNanos || s.done == s.tasks)) {
                s.lastReport = now;
                double secs = (now - s.start) / 1e9;
                double left = s.done > 0 ? secs / s.done * (s.tasks - s.done) : Double.NaN;
                line = String.format(Locale.ROOT, "progress: stage %d (%s): %d/%d tasks, %d items, %.0f items/s, "
                                + "about %.0f s left", e.stageId(), s.name, s.done, s.tasks, s.items,
                        s.items / Math.max(secs, 1e-9), left);
            }
        }
        if (line != null) {
            sink.accept(line);
        }
    }

    @Override
    public void onStageCompleted(SparkListenerStageCompleted e) {
        stages.remove(e.stageInfo().stageId());
    }
}
