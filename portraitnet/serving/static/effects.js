// The four outputs drawn in the browser from a photo and its mask (a canvas whose alpha is the person
// probability), as portraitnet/inference/effects.py draws them: grey mask, cut-out, blurred or replaced background.
"use strict";

import { canvas } from "./segment.js";

export const FORMATS = ["mask", "cutout", "blur", "replace"];

const scratch = {}; // canvases reused from frame to frame, by role

// A canvas of this role, sized (and cleared) for this frame.
function reused(role, width, height) {
  const made = scratch[role] || (scratch[role] = canvas(width, height));
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
function background(source, format, options, width, height) {
  const out = reused("background", width, height);
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
