package ai.sisom.bench;

import ai.sisom.reference.LabeledSet;
import ai.sisom.reference.SisomReference;
import ai.sisom.reference.DOutVariant;
import ai.sisom.scoring.Fusion;
import ai.sisom.scoring.SisomScorer;
import ai.sisom.selection.GreedySelection;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Greedy batch-diverse selection cost as q and the candidate count C grow (D = 240, K = 10, 1,000 reference points).
 * Each pick updates every remaining candidate once, so the loop costs O(q * C * D); printed with the time per
 * (q * C) update, which stays flat when the cost is as expected.
 * <pre>bench/greedy.sh</pre>
 */
public final class GreedyBench {
    private GreedyBench() {}

    public static void main(String[] args) {
        int d = 240;
        int k = 10;
        Random rnd = new Random(3);
        int m = 1000;
        List<String> ids = new ArrayList<>();
        List<float[]> u = new ArrayList<>();
        int[] labels = new int[m];
        double[] e = new double[m];
        for (int i = 0; i < m; i++) {
            ids.add("L" + i);
            labels[i] = i % k;
            u.add(vector(rnd, d, labels[i], k));
            e[i] = -5 - rnd.nextDouble();
        }
        List<String> classes = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            classes.add("c" + c);
        }
        SisomReference ref = SisomReference.build(new LabeledSet(ids, labels, u, e, u), classes, List.of("all"),
                new int[]{0, d}, new SisomReference.Settings(new double[][]{{1.0}}, DOutVariant.SAMPLE, null, null));
        SisomScorer scorer = new SisomScorer(ref, new Fusion(Fusion.Score.SISOME, null));
        System.out.printf(Locale.ROOT, "%8s %6s %10s %14s%n", "C", "q", "seconds", "ns_per_update");
        for (int c : new int[]{10_000, 50_000}) {
            List<float[]> z = new ArrayList<>();
            int[] pc = new int[c];
            for (int i = 0; i < c; i++) {
                pc[i] = rnd.nextInt(k);
                z.add(ref.steepness().apply(vector(rnd, d, pc[i], k)));
            }
            for (int q : new int[]{10, 100, 1000}) {
                List<GreedySelection.Candidate> cands = new ArrayList<>();
                for (int i = 0; i < c; i++) {
                    cands.add(new GreedySelection.Candidate("p" + i, z.get(i), pc[i], -5));
                }
                long t0 = System.nanoTime();
                GreedySelection.select(cands, q, scorer);
                double secs = (System.nanoTime() - t0) / 1e9;
                System.out.printf(Locale.ROOT, "%8d %6d %10.3f %14.1f%n", c, q, secs, secs * 1e9 / ((double) q * c));
            }
        }
    }

    static float[] vector(Random rnd, int d, int cls, int k) {
        float[] x = new float[d];
        for (int j = 0; j < d; j++) {
            x[j] = (float) (rnd.nextGaussian() + (j % k == cls ? 1 : 0));
        }
        return x;
    }
}
