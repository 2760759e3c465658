package ai.sisom.selection;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ClassBalanceTest {
    static final List<String> CLASSES = List.of("shirt", "coat", "bag", "boot");

    @Test
    void equalQuotasSplitQByLargestRemaindersAndPassOnWhatASmallClassCannotFill() {
        ClassBalance eq = ClassBalance.equal(4);
        assertArrayEquals(new int[]{3, 3, 2, 2}, eq.quotas(10, new long[]{100, 100, 100, 100}));
        // bag has only 1 eligible sample: its share goes to the others
        assertArrayEquals(new int[]{3, 3, 1, 3}, eq.quotas(10, new long[]{100, 100, 1, 100}));
        // a class with none gets none; a pool smaller than q fills what it can
        assertArrayEquals(new int[]{2, 0, 1, 3}, eq.quotas(10, new long[]{2, 0, 1, 3}));
        assertArrayEquals(new int[]{0, 0, 0, 0}, eq.quotas(0, new long[]{5, 5, 5, 5}));
    }

    @Test
    void priorQuotasFollowTheWeightsAndUnnamedClassesGetNone() {
        ClassBalance p = ClassBalance.prior("shirt:0.5, coat:0.3,bag:0.2", CLASSES);
        assertArrayEquals(new double[]{0.5, 0.3, 0.2, 0}, p.weights());
        assertArrayEquals(new int[]{50, 30, 20, 0}, p.quotas(100, new long[]{1000, 1000, 1000, 1000}));
        // coat short of its 30: the remaining 25 split 5:2 between shirt and bag
        int[] q = p.quotas(100, new long[]{1000, 5, 1000, 1000});
        assertEquals(5, q[1]);
        assertEquals(0, q[3]);
        assertEquals(100, q[0] + q[1] + q[2]);
        assertTrue(q[0] > q[2] * 2, java.util.Arrays.toString(q));
        // weights need not sum to 1
        assertArrayEquals(new int[]{6, 2, 2, 0}, ClassBalance.prior("shirt:3,coat:1,bag:1", CLASSES)
                .quotas(10, new long[]{100, 100, 100, 100}));
    }

    @Test
    void aBadPriorIsRefusedNamingTheEntry() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> ClassBalance.prior("shirt:1,hat:2", CLASSES));
        assertTrue(unknown.getMessage().contains("[hat]") && unknown.getMessage().contains("classPrior"),
                unknown.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ClassBalance.prior("shirt:-1", CLASSES))
                .getMessage().contains("shirt"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ClassBalance.prior("shirt", CLASSES))
                .getMessage().contains("class:weight"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ClassBalance.prior("shirt:x", CLASSES))
                .getMessage().contains("not a number"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ClassBalance.prior("shirt:1,shirt:2", CLASSES))
                .getMessage().contains("twice"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ClassBalance.prior("shirt:0", CLASSES))
                .getMessage().contains("weight 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ClassBalance.prior("", CLASSES))
                .getMessage().contains("needs the prior"));
    }
}
