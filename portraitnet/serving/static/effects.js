// The four outputs drawn in the browser from a photo and its mask (a canvas whose alpha is the person
// probability), as portraitnet/inference/effects.py draws them: grey mask, cut-out, blurred or replaced background;
// and the live mode's blurred or replaced background, drawn in one pass from the frame's pixels and opacities.
"use strict";

import { canvas } from "./segment.js";

export const FORMATS = ["mask", "cutout", "blur", "replace"];

const scratch = {}; // canvases reused from frame to frame, by role

// A canvas of this role, sized (and cleared) for this frame; `readBack` when its pixels will be read.
function reused(role, width, height, readBack = false) {
  let made = scratch[role];
  if (!made) {
    made = scratch[role] = canvas(width, height);
    made.getContext("2d", { willReadFrequently: readBack }); // the first call fixes the context's kind
  }
  if (made.width !== width || made.height !== height) {
    made.width = width;
    made.height = height;
  } else {
    made.getContext("2d").clearRect(0, 0, width, height);
  }
  return made;
}

// The photo with the mask as its alpha.
function cutout(source, mask) {
  const out = reused("cutout", mask.width, mask.height);
  const context = out.getContext("2d");
  context.globalCompositeOperation = "source-over";
  context.drawImage(source, 0, 0, out.width, out.height);
  context.globalCompositeOperation = "destination-in";
  context.drawImage(mask, 0, 0);
  return out;
}

const BLUR_SHRINK = 4; // the blur runs on a copy this many times smaller: its sigma is many pixels anyway

// The background: blurred with sigma = strength x the longer side, or one colour.
function background(source, format, options, width, height, readBack = false) {
  const out = reused(readBack ? "background read" : "background", width, height, readBack);
  const context = out.getContext("2d");
  if (format === "replace") {
    context.fillStyle = options.colour || "#00b140";
    context.fillRect(0, 0, width, height);
    return out;
  }
  const sigma = Math.max(1, (options.blurStrength || 0.03) * Math.max(width, height));
  const small = reused("blur", Math.ceil(width / BLUR_SHRINK), Math.ceil(height / BLUR_SHRINK));
  const smallContext = small.getContext("2d");
  smallContext.filter = `blur(${sigma / BLUR_SHRINK}px)`;
  smallContext.drawImage(source, 0, 0, small.width, small.height);
  smallContext.filter = "none";
  context.imageSmoothingEnabled = true;
  context.drawImage(small, 0, 0, width, height);
  return out;
}

// One format drawn into `target` (a canvas, resized to the mask).
export function render(format, source, mask, target, options = {}) {
  target.width = mask.width;
  target.height = mask.height;
  const context = target.getContext("2d");
  context.clearRect(0, 0, target.width, target.height);
  if (format === "mask") {
    context.fillStyle = "#000";
    context.fillRect(0, 0, target.width, target.height);
    context.drawImage(mask, 0, 0); // white at alpha p over black: grey level 255 p
  } else if (format === "cutout") {
    context.drawImage(cutout(source, mask), 0, 0);
  } else {
    context.drawImage(background(source, format, options, target.width, target.height), 0, 0);
    context.drawImage(cutout(source, mask), 0, 0);
  }
  return target;
}

const frames = new WeakMap(); // target canvas -> the ImageData its frames are written into, reused
let solid = null; // the last one-colour background's pixels, and its colour

// The live mode's background pixels (RGBA): blurred (as `render` blurs it), or one colour (options.colour).
function backgroundPixels(frame, options, width, height) {
  if (options.format !== "replace") {
    return background(frame, "blur", options, width, height, true).getContext("2d")
      .getImageData(0, 0, width, height).data;
  }
  const colour = options.colour || "#00b140";
  if (!solid || solid.colour !== colour || solid.pixels.length !== 4 * width * height) {
    const context = reused("background read", width, height, true).getContext("2d");
    context.fillStyle = colour;
    context.fillRect(0, 0, width, height);
    solid = { colour, pixels: context.getImageData(0, 0, width, height).data };
  }
  return solid.pixels;
}

// The live mode's effect: each pixel = background + opacity x (frame - background), written into `target` at once.
// pixels: the frame's RGBA; alpha: the person's opacity per pixel (0..255).
export function composite(frame, pixels, alpha, target, options) {
  const { width, height } = frame;
  if (target.width !== width || target.height !== height) {
    target.width = width;
    target.height = height;
  }
  const context = target.getContext("2d");
  let image = frames.get(target);
  if (!image || image.width !== width || image.height !== height) {
    image = context.createImageData(width, height);
    frames.set(target, image);
  }
  const out = image.data;
  const back = backgroundPixels(frame, options, width, height);
  for (let i = 0, at = 0; i < alpha.length; i++, at += 4) {
    const a = alpha[i] / 255;
    out[at] = back[at] + a * (pixels[at] - back[at]);
    out[at + 1] = back[at + 1] + a * (pixels[at + 1] - back[at + 1]);
    out[at + 2] = back[at + 2] + a * (pixels[at + 2] - back[at + 2]);
    out[at + 3] = 255;
  }
  context.putImageData(image, 0, 0);
  return target;
}
