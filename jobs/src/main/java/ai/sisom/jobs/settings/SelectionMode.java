package ai.sisom.jobs.settings;

/** How the queue is chosen from the scores (METHOD.md section 5; docs/evaluation.md for CoreSet and BADGE). */
public enum SelectionMode {
    /** The q highest scores, ranked on the executors. */
    TOPQ,
    /** Greedy batch-diverse selection over the top q * candidateFactor samples. */
    GREEDY,
    /** CoreSet (k-center greedy on penultimate features, the labeled set as centers) over the top candidates. */
    CORESET,
    /** BADGE (k-means++ seeding on gradient embeddings) over the top candidates. */
    BADGE
}
