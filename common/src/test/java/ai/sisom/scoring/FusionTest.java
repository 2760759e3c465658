package ai.sisom.scoring;

import ai.sisom.reference.ReferenceStats;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class FusionTest {
    private final ReferenceStats st = new ReferenceStats(0.3, 0.2, -5, 2, 100, 0);

    @Test
    void theCoefficientsAreThoseOfTheSelectedScore() {
        Fusion sisome = new Fusion(Fusion.Score.SISOME, null);
        assertEquals(0.3, sisome.energyCoefficient(st), 0);
        assertEquals(0.7, sisome.ratioCoefficient(st), 1e-15);
        double r = 0.5;
        double e = -4;
        assertEquals(sisome.energyCoefficient(st) * (e + 5) / 2 + sisome.ratioCoefficient(st) * Fusion.sisom(r, st),
                sisome.sisome(r, e, st), 1e-15);
        Fusion sisom = new Fusion(Fusion.Score.SISOM, null);
        assertEquals(0, sisom.energyCoefficient(st));
        assertEquals(1, sisom.ratioCoefficient(st));
        assertEquals(1, new Fusion(Fusion.Score.SISOME, 1.0).energyCoefficient(st));
        assertEquals(0, new Fusion(Fusion.Score.SISOME, 1.0).ratioCoefficient(st));
    }
}
