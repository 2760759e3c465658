package ai.sisom.image;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;

import static org.junit.jupiter.api.Assertions.*;

class ImagePreprocessorTest {
    private static NDManager manager;

    @BeforeAll
    static void start() {
        ai.sisom.model.Natives.prepare();
        manager = NDManager.newBaseManager("PyTorch");
    }

    @AfterAll
    static void stop() { manager.close(); }

    private static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out), "no writer for " + format);
        return out.toByteArray();
    }

    private static BufferedImage gray(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.getRaster().setSample(x, y, 0, (x * 37 + y * 11) % 256);
            }
        }
        return img;
    }

    @Test
    void grayscalePngIsReadExactlyAndNormalised() throws Exception {
        ImagePreprocessor p = new ImagePreprocessor(1, 4, 5, new float[]{0.5f}, new float[]{0.25f}, ImagePreprocessor.Resize.NONE);
        float[] v = p.decode("g", encode(gray(5, 4), "png"), manager);
        assertEquals(20, v.length);
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 5; x++) {
                float raw = (x * 37 + y * 11) % 256;
                assertEquals((raw / 255f - 0.5f) / 0.25f, v[y * 5 + x], 0f, "pixel " + x + "," + y);
            }
        }
    }

    @Test
    void aTruncatedJpegIsRejectedWhereTheWholeOneDecodes() throws Exception {
        ImagePreprocessor p = new ImagePreprocessor(1, 16, 16, new float[]{0f}, new float[]{1f}, ImagePreprocessor.Resize.NONE);
        byte[] jpg = encode(gray(16, 16), "jpg");
        assertEquals(256, p.decode("whole", jpg, manager).length);
        InvalidImageException e = assertThrows(InvalidImageException.class,
                () -> p.decode("cut", java.util.Arrays.copyOf(jpg, jpg.length - 40), manager));
        assertTrue(e.getMessage().contains("cut") && e.getMessage().contains("truncated"), e.getMessage());
        byte[] png = encode(gray(16, 16), "png");
        assertThrows(InvalidImageException.class, () -> p.decode("cutpng", java.util.Arrays.copyOf(png, png.length / 2),
                manager));
    }

    @Test
    void rgbIsConvertedToGrayWithPilLuma() throws Exception {
        BufferedImage img = new BufferedImage(2, 1, BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, (200 << 16) | (100 << 8) | 50);
        img.setRGB(1, 0, (1 << 16) | (2 << 8) | 255);
        ImagePreprocessor p = new ImagePreprocessor(1, 1, 2, new float[]{0f}, new float[]{1f}, ImagePreprocessor.Resize.NONE);
        float[] v = p.decode("rgb", encode(img, "png"), manager);
        // PIL: (r*19595 + g*38470 + b*7471 + 0x8000) >> 16
        assertEquals(((200 * 19595 + 100 * 38470 + 50 * 7471 + 0x8000) >> 16) / 255f, v[0], 0f);
        assertEquals(((1 * 19595 + 2 * 38470 + 255 * 7471 + 0x8000) >> 16) / 255f, v[1], 0f);
    }

    @Test
    void grayImageFeedsAnRgbModelOnAllThreeChannels() throws Exception {
        ImagePreprocessor p = new ImagePreprocessor(3, 4, 5, new float[]{0f, 0f, 0f}, new float[]{1f, 1f, 1f},
                ImagePreprocessor.Resize.NONE);
        float[] v = p.decode("g", encode(gray(5, 4), "png"), manager);
        for (int i = 0; i < 20; i++) {
            assertEquals(v[i], v[20 + i], 0f);
            assertEquals(v[i], v[40 + i], 0f);
        }
    }

    @Test
    void jpegDecodes() throws Exception {
        ImagePreprocessor p = new ImagePreprocessor(1, 4, 5, new float[]{0f}, new float[]{1f}, ImagePreprocessor.Resize.NONE);
        float[] v = p.decode("j", encode(gray(5, 4), "jpg"), manager);
        assertEquals(20, v.length);
    }

    @Test
    void corruptBytesAreRejectedNamingTheItem() {
        ImagePreprocessor p = new ImagePreprocessor(1, 4, 5, new float[]{0f}, new float[]{1f}, ImagePreprocessor.Resize.NONE);
        InvalidImageException e = assertThrows(InvalidImageException.class,
                () -> p.decode("pool/broken-17.png", new byte[]{(byte) 0x89, 'P', 'N', 'G', 1, 2, 3}, manager));
        assertEquals("pool/broken-17.png", e.itemId());
        assertTrue(e.getMessage().contains("pool/broken-17.png"), e.getMessage());
        InvalidImageException empty = assertThrows(InvalidImageException.class, () -> p.decode("e", new byte[0], manager));
        assertTrue(empty.reason().contains("no image bytes"));
    }

    @Test
    void truncatedPngIsRejected() throws Exception {
        byte[] full = encode(gray(5, 4), "png");
        byte[] cut = java.util.Arrays.copyOf(full, full.length / 2);
        ImagePreprocessor p = new ImagePreprocessor(1, 4, 5, new float[]{0f}, new float[]{1f}, ImagePreprocessor.Resize.NONE);
        assertThrows(InvalidImageException.class, () -> p.decode("cut", cut, manager));
    }

    @Test
    void wrongSizeIsRejectedUnlessResizeIsOn() throws Exception {
        byte[] big = encode(gray(10, 8), "png");
        ImagePreprocessor strict = new ImagePreprocessor(1, 4, 5, new float[]{0f}, new float[]{1f}, ImagePreprocessor.Resize.NONE);
        InvalidImageException e = assertThrows(InvalidImageException.class, () -> strict.decode("big", big, manager));
        assertTrue(e.reason().contains("10x8") && e.reason().contains("5x4"), e.reason());

        ImagePreprocessor resizing = new ImagePreprocessor(1, 4, 5, new float[]{0f}, new float[]{1f},
                ImagePreprocessor.Resize.BILINEAR);
        float[] v = resizing.decode("big", big, manager);
        assertEquals(20, v.length);
        for (float f : v) {
            assertTrue(f >= 0f && f <= 1f, "resized values stay in range");
        }
        // a constant image stays constant under bilinear resizing
        BufferedImage flat = new BufferedImage(10, 8, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 10; x++) {
                flat.getRaster().setSample(x, y, 0, 77);
            }
        }
        for (float f : resizing.decode("flat", encode(flat, "png"), manager)) {
            assertEquals(77f / 255f, f, 1e-6f);
        }
    }
}
