package ai.sisom.spark;

import ai.sisom.scoring.SisomScorer;
import ai.sisom.selection.GreedySelection;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.asc;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.desc;

/** Score table -> selection on Spark: top-q (distributed) and greedy batch-diverse (driver, over top candidates). */
public final class Selections {
    private Selections() {}

    /**
     * The q highest scores, ties broken by id, ranked from 1. Spark plans {@code orderBy + limit} as a distributed
     * top-k (each partition keeps its own q best), so the pool is never collected.
     */
    public static Dataset<Row> topQ(Dataset<Row> scores, int q) {
        // the q rows come to the driver anyway (they are the answer); ranking them there avoids a global window
        List<Row> top = scores.orderBy(desc(ScoreTable.SCORE), asc(FeatureTable.ID)).limit(q).collectAsList();
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

    /**
     * Greedy batch-diverse selection over the top {@code candidates} samples by initial score (see
     * {@link GreedySelection} for what is exact): the candidates' u are fetched by a broadcast join and the greedy
     * loop runs on the driver.
     */
    public static Dataset<Row> greedy(SparkSession spark, Dataset<Row> scores, Dataset<Row> features,
                                      SisomScorer scorer, int q, int candidates) {
        Dataset<Row> top = scores.orderBy(desc(ScoreTable.SCORE), asc(FeatureTable.ID)).limit(Math.max(candidates, q))
                .select(FeatureTable.ID);
        List<Row> rows = features.join(org.apache.spark.sql.functions.broadcast(top), FeatureTable.ID)
                .select(col(FeatureTable.ID), col(FeatureTable.U), col(FeatureTable.PSEUDO_CLASS), col(FeatureTable.ENERGY))
                .collectAsList();
        List<GreedySelection.Candidate> cands = new ArrayList<>();
        for (Row r : rows) {
            cands.add(new GreedySelection.Candidate(r.getString(0), scorer.reference().steepness().apply(
                    FeatureTable.floats(r, 1)), r.getInt(2), r.getDouble(3)));
        }
        List<GreedySelection.Pick> picks = GreedySelection.select(cands, q, scorer);
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

}
