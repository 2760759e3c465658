package ai.sisom.jobs.settings;

/** How the queue is chosen from the scores (METHOD.md section 5). */
public enum SelectionMode {
    /** The q highest scores, ranked on the executors. */
    TOPQ,
    /** Greedy batch-diverse selection over the top q * candidateFactor samples. */
    GREEDY
}
