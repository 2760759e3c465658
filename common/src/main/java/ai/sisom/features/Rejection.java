package ai.sisom.features;

import java.io.Serializable;

/** An input item that was not scored, and why. Rejections are counted and reported, never dropped silently. */
public record Rejection(String id, String reason) implements Serializable {}
