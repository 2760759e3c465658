package ai.sisom.spark;

import ai.sisom.scoring.JointEnergy;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class JointEnergyTest {
    @Test
    void sumsSoftplusOverLabelsWithoutOverflow() {
        assertEquals(3 * Math.log(2), JointEnergy.score(new float[]{0, 0, 0}), 1e-12);
        assertEquals(1000 + Math.log1p(Math.exp(-1000)) + Math.log1p(Math.exp(-1000)),
                JointEnergy.score(new float[]{1000, -1000}), 1e-9);
        assertTrue(Double.isFinite(JointEnergy.score(new float[]{1e30f, -1e30f})));
    }

    @Test
    void inDistributionMultiLabelSamplesScoreHigherAndRareLabelsLookLessInDistribution() {
        // 4 labels; a typical in-distribution image has two confident labels, an OOD image none
        float[] common = {6, 5, -4, -5};        // two frequent labels, confident
        float[] rare = {-4, -5, 1.5f, -4};      // one tail label: the model is less sure of it
        float[] ood = {-3, -4, -3, -5};         // nothing recognised
        double sCommon = JointEnergy.score(common);
        double sRare = JointEnergy.score(rare);
        double sOod = JointEnergy.score(ood);
        assertTrue(sCommon > sRare && sRare > sOod, sCommon + " " + sRare + " " + sOod);
        // the known bias: a genuine tail-label sample sits much closer to OOD than to common samples
        assertTrue(sRare - sOod < sCommon - sRare);
    }

    @Test
    void sparkColumnEqualsTheJavaScore() {
        SparkSession spark = SparkSession.builder().master("local[1]").appName("joint-energy")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            StructType schema = new StructType().add("logits", DataTypes.createArrayType(DataTypes.FloatType));
            List<Row> rows = List.of(RowFactory.create((Object) new Float[]{6f, 5f, -4f}),
                    RowFactory.create((Object) new Float[]{-30f, 40f, 0.5f}));
            List<Row> out = spark.createDataFrame(rows, schema).select(SparkColumns.jointEnergy("logits")).collectAsList();
            assertEquals(JointEnergy.score(new float[]{6, 5, -4}), out.get(0).getDouble(0), 1e-9);
            assertEquals(JointEnergy.score(new float[]{-30, 40, 0.5f}), out.get(1).getDouble(0), 1e-9);
        } finally {
            spark.stop();
        }
    }
}
