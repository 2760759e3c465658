package ai.sisom.selection;

import ai.sisom.reference.LabeledSet;
import ai.sisom.reference.SisomReference;
import ai.sisom.scoring.BruteForce;
import ai.sisom.reference.DOutVariant;
import ai.sisom.scoring.Fusion;
import ai.sisom.scoring.SisomScorer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class GreedySelectionTest {
    @Test
    void eachPickIsTheBestAfterAddingThePreviousPicksToTheReference() {
        againstBruteForce(null);
    }

    @Test
    void aClassAtItsQuotaDropsOutWhileItsPicksStillUpdateTheOthers() {
        // class 0 may take 1, class 1 none, class 2 up to 10: 8 picks, at most one of class 0, none of class 1
        List<GreedySelection.Pick> picks = againstBruteForce(new int[]{1, 0, 10});
        assertTrue(picks.stream().filter(p -> p.pseudoClass() == 0).count() <= 1);
        assertEquals(0, picks.stream().filter(p -> p.pseudoClass() == 1).count());
    }

    /** Greedy picks against a from-scratch re-scoring after each pick; {@code quota} per class or null. */
    private static List<GreedySelection.Pick> againstBruteForce(int[] quota) {
        Random rnd = new Random(11);
        int k = 3;
        int n = 30;
        List<String> ids = new ArrayList<>();
        List<float[]> z = new ArrayList<>();
        int[] labels = new int[n];
        double[] e = new double[n];
        for (int i = 0; i < n; i++) {
            ids.add("L" + i);
            labels[i] = i % k;
            z.add(new float[]{(float) (rnd.nextGaussian() + 2 * labels[i]), (float) rnd.nextGaussian()});
            e[i] = -1 - rnd.nextDouble();
        }
        // steepness is irrelevant here: use an identity-like reference by building with tiny u and large alpha?
        // simpler: z = sigmoid(1 * u) with u = logit(z') would hide nothing, so score in z-space directly below
        LabeledSet l = new LabeledSet(ids, labels, z, e, z);
        SisomReference ref = SisomReference.build(l, List.of("a", "b", "c"), List.of("l"), new int[]{0, 2},
                new SisomReference.Settings(new double[][]{{1.0}}, DOutVariant.SAMPLE, null, null));
        SisomScorer scorer = new SisomScorer(ref, new Fusion(Fusion.Score.SISOME, null));
        List<float[]> refZ = new ArrayList<>();
        z.forEach(x -> refZ.add(BruteForce.sigmoid(x, new double[]{1.0}, new int[]{0, 2})));

        List<GreedySelection.Candidate> cands = new ArrayList<>();
        List<float[]> cz = new ArrayList<>();
        int[] pcs = new int[40];
        double[] ce = new double[40];
        for (int i = 0; i < 40; i++) {
            float[] u = {(float) (rnd.nextGaussian() * 2 + 2), (float) rnd.nextGaussian()};
            float[] zz = BruteForce.sigmoid(u, new double[]{1.0}, new int[]{0, 2});
            pcs[i] = rnd.nextInt(k);
            ce[i] = -rnd.nextDouble() * 3;
            cz.add(zz);
            cands.add(new GreedySelection.Candidate(String.format("P%02d", i), zz, pcs[i], ce[i]));
        }
        List<GreedySelection.Pick> picks = GreedySelection.select(cands, 8, scorer, quota);
        assertEquals(8, picks.size());
        int[] taken = new int[k];

        // brute force: after each pick, the reference grows by the picked point under its pseudo-class
        List<float[]> pts = new ArrayList<>(refZ);
        List<Integer> lab = new ArrayList<>();
        for (int x : labels) {
            lab.add(x);
        }
        List<Integer> left = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            left.add(i);
        }
        var st = ref.stats();
        for (GreedySelection.Pick p : picks) {
            int[] labArr = lab.stream().mapToInt(Integer::intValue).toArray();
            int best = -1;
            double bestS = Double.NEGATIVE_INFINITY;
            for (int i : left) {
                if (quota != null && taken[pcs[i]] >= quota[pcs[i]]) {
                    continue;
                }
                double r = BruteForce.ratio(cz.get(i), pcs[i], pts, labArr, -1, false)[2];
                double s = Math.min(st.rAvg(), 1) * (ce[i] - st.muE()) / st.sigmaE()
                        + Math.max(1 - st.rAvg(), 0) * (r - st.rAvg()) / st.sigmaR();
                if (s > bestS) {
                    bestS = s;
                    best = i;
                }
            }
            assertEquals(String.format("P%02d", best), p.id(), "pick " + p.rank());
            assertEquals(bestS, p.scored().score(), 1e-9);
            left.remove(Integer.valueOf(best));
            pts.add(cz.get(best));
            lab.add(pcs[best]);
            taken[pcs[best]]++;
        }
        return picks;
    }

    @Test
    void manyCandidatesWithTiesPickExactlyAsTheSequentialListScan() {
        // enough candidates for the parallel pass, with exact duplicates (same z, same score) and repeated ids, so
        // the order's tie-breaks (score, then id, then input position) decide
        Random rnd = new Random(5);
        int k = 4;
        List<String> ids = new ArrayList<>();
        List<float[]> z = new ArrayList<>();
        int[] labels = new int[40];
        double[] e = new double[40];
        for (int i = 0; i < 40; i++) {
            ids.add("L" + i);
            labels[i] = i % k;
            z.add(new float[]{(float) (rnd.nextGaussian() + labels[i]), (float) rnd.nextGaussian(), (float) rnd.nextGaussian()});
            e[i] = -1 - rnd.nextDouble();
        }
        SisomReference ref = SisomReference.build(new LabeledSet(ids, labels, z, e, z), List.of("a", "b", "c", "d"),
                List.of("l"), new int[]{0, 3}, new SisomReference.Settings(new double[][]{{1.0}}, DOutVariant.SAMPLE,
                        null, null));
        SisomScorer scorer = new SisomScorer(ref, new Fusion(Fusion.Score.SISOME, null));
        int n = 12_000;
        float[][] cz = new float[n][];
        int[] pc = new int[n];
        double[] ce = new double[n];
        String[] cid = new String[n];
        for (int i = 0; i < n; i++) {
            boolean dup = i >= 100 && rnd.nextInt(5) == 0;
            int src = dup ? rnd.nextInt(i) : i;
            cz[i] = dup ? cz[src] : BruteForce.sigmoid(new float[]{(float) (rnd.nextGaussian() * 2 + 1),
                    (float) rnd.nextGaussian(), (float) rnd.nextGaussian()}, new double[]{1.0}, new int[]{0, 3});
            pc[i] = dup ? pc[src] : rnd.nextInt(k);
            ce[i] = dup ? ce[src] : -rnd.nextDouble() * 3;
            cid[i] = dup && rnd.nextBoolean() ? cid[src] : "P" + (i % 9000);   // repeated ids too
        }
        List<GreedySelection.Candidate> a = new ArrayList<>();
        List<GreedySelection.Candidate> b = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            a.add(new GreedySelection.Candidate(cid[i], cz[i], pc[i], ce[i]));
            b.add(new GreedySelection.Candidate(cid[i], cz[i], pc[i], ce[i]));
        }
        List<GreedySelection.Pick> got = GreedySelection.select(a, 60, scorer);
        List<GreedySelection.Candidate> want = listScan(b, 60, scorer);
        assertEquals(60, got.size());
        // compare input positions: a picked candidate keeps the very Scored object it was picked with
        java.util.IdentityHashMap<Object, Integer> posA = new java.util.IdentityHashMap<>();
        java.util.IdentityHashMap<Object, Integer> posB = new java.util.IdentityHashMap<>();
        for (int i = 0; i < n; i++) {
            posA.put(a.get(i).scored, i);
            posB.put(b.get(i), i);
        }
        int ties = 0;
        for (int r = 0; r < 60; r++) {
            assertEquals(posB.get(want.get(r)), posA.get(got.get(r).scored()), "pick " + (r + 1));
            assertEquals(want.get(r).scored, got.get(r).scored(), "pick " + (r + 1));
            if (r > 0 && want.get(r).scored.score() == want.get(r - 1).scored.score()) {
                ties++;
            }
        }
        assertTrue(ties > 0, "the workload must contain tied picks");
    }

    /** The straightforward greedy loop (the implementation before the packed, parallel one), as the reference. */
    private static List<GreedySelection.Candidate> listScan(List<GreedySelection.Candidate> cands, int q,
                                                            SisomScorer scorer) {
        for (GreedySelection.Candidate c : cands) {
            SisomScorer.Scored s = scorer.scoreZ(c.z, c.pseudoClass, c.energy);
            c.dIn = s.dIn();
            c.dOut = s.dOut();
            c.inId = s.nearestInId();
            c.outId = s.nearestOutId();
            c.scored = s;
        }
        java.util.Comparator<GreedySelection.Candidate> order = java.util.Comparator
                .comparingDouble((GreedySelection.Candidate c) -> -c.scored.score()).thenComparing(c -> c.id);
        List<GreedySelection.Candidate> remaining = new ArrayList<>(cands);
        List<GreedySelection.Candidate> picks = new ArrayList<>();
        while (picks.size() < q && !remaining.isEmpty()) {
            int bi = 0;
            for (int i = 1; i < remaining.size(); i++) {
                if (order.compare(remaining.get(i), remaining.get(bi)) < 0) {
                    bi = i;
                }
            }
            GreedySelection.Candidate best = remaining.remove(bi);
            picks.add(best);
            for (GreedySelection.Candidate c : remaining) {
                double d = ai.sisom.reference.Distances.distance(c.z, best.z);
                boolean changed = false;
                if (c.pseudoClass == best.pseudoClass) {
                    if (d < c.dIn) {
                        c.dIn = d;
                        c.inId = best.id;
                        changed = true;
                    }
                } else if (d < c.dOut) {
                    c.dOut = d;
                    c.outId = best.id;
                    changed = true;
                }
                if (changed) {
                    boolean zero = c.dOut == 0;
                    double r = zero ? ai.sisom.reference.Ratio.ZERO_D_OUT_RATIO : c.dIn / c.dOut;
                    c.scored = scorer.scored(c.dIn, c.dOut, r, zero, c.inId, c.outId, c.energy);
                }
            }
        }
        return picks;
    }

    @Test
    void theAnchorVariantIsRefusedWithAReason() {
        List<float[]> z = List.of(new float[]{0}, new float[]{1}, new float[]{2}, new float[]{3});
        LabeledSet l = new LabeledSet(List.of("a", "b", "c", "d"), new int[]{0, 0, 1, 1}, z,
                new double[]{-1, -2, -3, -4}, z);
        SisomReference ref = SisomReference.build(l, List.of("x", "y"), List.of("l"), new int[]{0, 1},
                new SisomReference.Settings(new double[][]{{1.0}}, DOutVariant.ANCHOR, null, null));
        SisomScorer scorer = new SisomScorer(ref, new Fusion(Fusion.Score.SISOM, null));
        var e = assertThrows(IllegalArgumentException.class, () -> GreedySelection.select(List.of(), 1, scorer));
        assertTrue(e.getMessage().contains("sample"));
    }
}
