package ai.sisom.spark;

import ai.sisom.scoring.SisomScorer;
import ai.sisom.selection.Badge;
import ai.sisom.selection.ClassBalance;
import ai.sisom.selection.CoreSet;
import ai.sisom.selection.GreedySelection;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.asc;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.desc;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.row_number;

/**
 * Score table -> the labeling queue on Spark: top-q (distributed), and greedy batch-diverse, CoreSet and BADGE
 * (driver, over the top candidates by score), all behind the OOD gate (flagged samples never enter the queue); top-q
 * and greedy optionally class-balanced (quotas per pseudo-class, {@link ClassBalance}).
 */
public final class Selections {
    private static final String QUOTA = "__sisom_quota";
    private static final String CLASS_RANK = "__sisom_class_rank";

    private Selections() {}

    /** The samples the queue may take: all of them ungated, else those the OOD gate did not flag. */
    public static Dataset<Row> eligible(Dataset<Row> scores, boolean gate) {
        return gate ? scores.filter(coalesce(col(ScoreTable.OOD_FLAG), lit(false)).equalTo(false)) : scores;
    }

    /** The q highest scores of every sample, ungated and unbalanced (ties by id), ranked from 1. */
    public static Dataset<Row> topQ(Dataset<Row> scores, int q) {
        return topQ(scores, q, false, ClassBalance.NONE);
    }

    /**
     * The q highest scores, ties broken by id, ranked from 1: of the unflagged samples when {@code gate}, within the
     * per-class quotas when balanced. Spark plans {@code orderBy + limit} as a distributed top-k (each partition keeps
     * its own q best), so the pool is never collected; the balanced queue ranks within classes by a window.
     */
    public static Dataset<Row> topQ(Dataset<Row> scores, int q, boolean gate, ClassBalance balance) {
        Dataset<Row> pool = eligible(scores, gate);
        Column order = desc(ScoreTable.SCORE);
        List<Row> top;
        if (balance.balanced()) {
            Dataset<Row> within = withinQuota(pool, quotas(pool, q, balance), col(ScoreTable.SCORE));
            top = within.orderBy(order, asc(FeatureTable.ID)).collectAsList();
        } else {
            // the q rows come to the driver anyway (they are the answer); ranking them there avoids a global window
            top = pool.orderBy(order, asc(FeatureTable.ID)).limit(q).collectAsList();
        }
        List<Row> ranked = new ArrayList<>(top.size());
        for (int i = 0; i < top.size(); i++) {
            Object[] v = new Object[top.get(i).size() + 1];
            for (int k = 0; k < top.get(i).size(); k++) {
                v[k] = top.get(i).get(k);
            }
            v[v.length - 1] = i + 1;
            ranked.add(RowFactory.create(v));
        }
        return scores.sparkSession().createDataFrame(ranked, scores.schema().add(ScoreTable.RANK, DataTypes.IntegerType, false));
    }

    /** Greedy batch-diverse selection of every sample, ungated and unbalanced. */
    public static Dataset<Row> greedy(SparkSession spark, Dataset<Row> scores, Dataset<Row> features,
                                      SisomScorer scorer, int q, int candidates) {
        return greedy(spark, scores, features, scorer, q, candidates, false, ClassBalance.NONE);
    }

    /**
     * Greedy batch-diverse selection over the top {@code candidates} samples by initial score (see
     * {@link GreedySelection} for what is exact), of the unflagged ones when {@code gate}: the candidates' u are
     * fetched by a broadcast join and the greedy loop runs on the driver. Balanced, each class brings its top
     * {@code quota * candidates / q} candidates and the loop stops taking a class at its quota.
     */
    public static Dataset<Row> greedy(SparkSession spark, Dataset<Row> scores, Dataset<Row> features,
                                      SisomScorer scorer, int q, int candidates, boolean gate, ClassBalance balance) {
        Dataset<Row> pool = eligible(scores, gate);
        int[] quota = null;
        Dataset<Row> top;
        if (balance.balanced()) {
            quota = quotas(pool, q, balance);
            int factor = q == 0 ? 1 : Math.max(1, candidates / q);
            int[] wide = new int[quota.length];
            for (int c = 0; c < quota.length; c++) {
                wide[c] = (int) Math.min(Integer.MAX_VALUE, (long) quota[c] * factor);
            }
            top = withinQuota(pool, wide, col(ScoreTable.SCORE)).select(FeatureTable.ID);
        } else {
            top = pool.orderBy(desc(ScoreTable.SCORE), asc(FeatureTable.ID)).limit(Math.max(candidates, q))
                    .select(FeatureTable.ID);
        }
        List<Row> rows = features.join(org.apache.spark.sql.functions.broadcast(top), FeatureTable.ID)
                .select(col(FeatureTable.ID), col(FeatureTable.U), col(FeatureTable.PSEUDO_CLASS), col(FeatureTable.ENERGY))
                .collectAsList();
        List<GreedySelection.Candidate> cands = new ArrayList<>();
        for (Row r : rows) {
            cands.add(new GreedySelection.Candidate(r.getString(0), scorer.reference().steepness().apply(
                    FeatureTable.floats(r, 1)), r.getInt(2), r.getDouble(3)));
        }
        List<GreedySelection.Pick> picks = GreedySelection.select(cands, q, scorer, quota);
        Map<String, Integer> rank = new HashMap<>();
        Map<String, Double> greedyScore = new HashMap<>();
        for (GreedySelection.Pick p : picks) {
            rank.put(p.id(), p.rank());
            greedyScore.put(p.id(), p.scored().score());
        }
        List<Row> rankRows = new ArrayList<>();
        rank.forEach((id, rk) -> rankRows.add(RowFactory.create(id, rk, greedyScore.get(id))));
        StructType rs = new StructType().add(FeatureTable.ID, DataTypes.StringType).add(ScoreTable.RANK, DataTypes.IntegerType)
                .add(ScoreTable.GREEDY_SCORE, DataTypes.DoubleType);
        Dataset<Row> ranks = spark.createDataFrame(rankRows, rs);
        return scores.join(org.apache.spark.sql.functions.broadcast(ranks), FeatureTable.ID).orderBy(ScoreTable.RANK);
    }

    /**
     * CoreSet (k-center greedy, {@link CoreSet}) over the top {@code candidates} samples by score (at least q; ties by
     * id), of the unflagged ones when {@code gate}: their penultimate features are fetched by a broadcast join and
     * the greedy loop runs on the driver, the candidates in score order (without labeled samples the best-scored one
     * is the first pick). The result is the picked samples' score rows with {@link ScoreTable#RANK}, ordered by it;
     * fewer than q when fewer samples are eligible.
     *
     * <p>Exact over the candidate set: the picks are the k-center greedy picks of those candidates with the labeled
     * samples as the initial centers. Approximated at scale: the paper runs k-center greedy over the whole unlabeled
     * pool; here the pool is first cut to the top candidates by the current score, so a far-away sample outside
     * them is never taken. {@code candidates = pool size} makes it exact over the pool, at the cost of collecting
     * every penultimate vector to the driver.
     *
     * @param labeledPenultimate the labeled samples' penultimate features, the initial centers (may be empty)
     */
    public static Dataset<Row> coreset(SparkSession spark, Dataset<Row> scores, Dataset<Row> features, int q,
                                       int candidates, boolean gate, float[][] labeledPenultimate) {
        Row[] rows = candidateFeatures(spark, scores, features, q, candidates, gate, FeatureTable.PENULTIMATE);
        List<CoreSet.Candidate> cands = new ArrayList<>(rows.length);
        for (Row r : rows) {
            cands.add(new CoreSet.Candidate(r.getString(0), floatsOrNull(r, 1)));
        }
        List<String> picked = new ArrayList<>();
        for (CoreSet.Pick p : CoreSet.select(cands, labeledPenultimate, Math.min(q, cands.size()))) {
            picked.add(p.id());
        }
        return ranked(spark, scores, picked);
    }

    /**
     * BADGE (k-means++ seeding on gradient embeddings, {@link Badge}) over the top {@code candidates} samples by score
     * (at least q; ties by id), of the unflagged ones when {@code gate}: their penultimate features and logits are
     * fetched by a broadcast join and the seeding runs on the driver, the candidates in score order, its draws from a
     * generator seeded with {@code seed} (the same inputs and seed give the same queue). The result is the picked
     * samples' score rows with {@link ScoreTable#RANK}, ordered by it; fewer than q when fewer samples are eligible.
     *
     * <p>Exact over the candidate set: the picks are k-means++ seeding's picks over those candidates' embeddings.
     * Approximated at scale: the paper seeds over the whole unlabeled pool; here the pool is first cut to the top
     * candidates by the current score, so a sample outside them is never drawn. {@code candidates = pool size}
     * makes it exact over the pool, at the cost of collecting every candidate's features to the driver.
     */
    public static Dataset<Row> badge(SparkSession spark, Dataset<Row> scores, Dataset<Row> features, int q,
                                     int candidates, boolean gate, long seed) {
        Row[] rows = candidateFeatures(spark, scores, features, q, candidates, gate, FeatureTable.PENULTIMATE,
                FeatureTable.LOGITS);
        List<Badge.Candidate> cands = new ArrayList<>(rows.length);
        for (Row r : rows) {
            cands.add(new Badge.Candidate(r.getString(0), floatsOrNull(r, 1), floatsOrNull(r, 2)));
        }
        List<String> picked = new ArrayList<>();
        for (Badge.Pick p : Badge.select(cands, Math.min(q, cands.size()), seed)) {
            picked.add(p.id());
        }
        return ranked(spark, scores, picked);
    }

    /**
     * The top max(candidates, q) eligible samples by score (ties by id), in that order, each as its feature row's
     * id and {@code columns}. Only the candidates' ids come to the driver before the broadcast join that fetches
     * their features.
     */
    private static Row[] candidateFeatures(SparkSession spark, Dataset<Row> scores, Dataset<Row> features, int q,
                                           int candidates, boolean gate, String... columns) {
        if (q < 0) {
            throw new IllegalArgumentException("q must not be negative, got " + q);
        }
        List<Row> top = eligible(scores, gate).orderBy(desc(ScoreTable.SCORE), asc(FeatureTable.ID))
                .limit(Math.max(candidates, q)).select(FeatureTable.ID).collectAsList();
        Map<String, Integer> position = new HashMap<>();
        for (Row r : top) {
            if (position.putIfAbsent(r.getString(0), position.size()) != null) {
                throw new IllegalArgumentException("sample " + r.getString(0) + " is in the score table more than once");
            }
        }
        Dataset<Row> ids = spark.createDataFrame(top, new StructType().add(FeatureTable.ID, DataTypes.StringType));
        Column[] cols = new Column[columns.length + 1];
        cols[0] = col(FeatureTable.ID);
        for (int k = 0; k < columns.length; k++) {
            cols[k + 1] = col(columns[k]);
        }
        Row[] rows = new Row[top.size()];
        for (Row r : features.join(org.apache.spark.sql.functions.broadcast(ids), FeatureTable.ID).select(cols)
                .collectAsList()) {
            int p = position.get(r.getString(0));
            if (rows[p] != null) {
                throw new IllegalArgumentException("sample " + r.getString(0) + " has more than one feature row");
            }
            rows[p] = r;
        }
        for (int p = 0; p < rows.length; p++) {
            if (rows[p] == null) {
                throw new IllegalArgumentException("sample " + top.get(p).getString(0)
                        + " is in the score table but not in the feature table");
            }
        }
        return rows;
    }

    private static float[] floatsOrNull(Row r, int field) {
        return r.isNullAt(field) ? null : FeatureTable.floats(r, field);
    }

    /** The score rows of {@code ids} with their rank (position + 1), ordered by rank. */
    private static Dataset<Row> ranked(SparkSession spark, Dataset<Row> scores, List<String> ids) {
        List<Row> rankRows = new ArrayList<>(ids.size());
        for (int i = 0; i < ids.size(); i++) {
            rankRows.add(RowFactory.create(ids.get(i), i + 1));
        }
        StructType rs = new StructType().add(FeatureTable.ID, DataTypes.StringType)
                .add(ScoreTable.RANK, DataTypes.IntegerType);
        return scores.join(org.apache.spark.sql.functions.broadcast(spark.createDataFrame(rankRows, rs)), FeatureTable.ID)
                .orderBy(ScoreTable.RANK);
    }

    /** The per-class quotas of a balanced queue of q from the eligible samples' class counts. */
    static int[] quotas(Dataset<Row> eligible, int q, ClassBalance balance) {
        long[] available = new long[balance.weights().length];
        for (Row r : eligible.groupBy(ScoreTable.PSEUDO_CLASS).count().collectAsList()) {
            int c = r.getInt(0);
            if (c < 0 || c >= available.length) {
                throw new IllegalArgumentException("pseudo-class " + c + " is outside the class prior's 0.."
                        + (available.length - 1));
            }
            available[c] = r.getLong(1);
        }
        return balance.quotas(q, available);
    }

    /** Each class's rows ranked by {@code by} (descending, ties by id) and cut at its quota; the helper columns dropped. */
    private static Dataset<Row> withinQuota(Dataset<Row> pool, int[] quota, Column by) {
        List<Row> q = new ArrayList<>();
        for (int c = 0; c < quota.length; c++) {
            if (quota[c] > 0) {
                q.add(RowFactory.create(c, quota[c]));
            }
        }
        StructType qs = new StructType().add(ScoreTable.PSEUDO_CLASS, DataTypes.IntegerType)
                .add(QUOTA, DataTypes.IntegerType);
        Dataset<Row> quotas = pool.sparkSession().createDataFrame(q, qs);
        return pool.join(org.apache.spark.sql.functions.broadcast(quotas), ScoreTable.PSEUDO_CLASS)
                .withColumn(CLASS_RANK, row_number().over(Window.partitionBy(ScoreTable.PSEUDO_CLASS)
                        .orderBy(by.desc(), asc(FeatureTable.ID))))
                .filter(col(CLASS_RANK).leq(col(QUOTA)))
                .drop(CLASS_RANK, QUOTA)
                .select(pool.columns()[0], java.util.Arrays.copyOfRange(pool.columns(), 1, pool.columns().length));
    }
}
