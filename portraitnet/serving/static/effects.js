// The four outputs drawn in the browser from a photo and its mask (a canvas whose alpha is the person
// probability), as portraitnet/inference/effects.py draws them: grey mask, cut-out, blurred or replaced background.
"use strict";

import { canvas } from "./segment.js";

export const FORMATS = ["mask", "cutout", "blur", "replace"];

// The photo with the mask as its alpha.
function cutout(source, mask) {
  const out = canvas(mask.width, mask.height);
  const context = out.getContext("2d");
  context.drawImage(source, 0, 0, out.width, out.height);
  context.globalCompositeOperation = "destination-in";
  context.drawImage(mask, 0, 0);
  return out;
}

// The background: blurred with sigma = strength x the longer side, or one colour.
function background(source, format, options, width, height) {
  const out = canvas(width, height);
  const context = out.getContext("2d");
  if (format === "replace") {
    context.fillStyle = options.colour || "#00b140";
    context.fillRect(0, 0, width, height);
    return out;
  }
  const sigma = Math.max(1, (options.blurStrength || 0.03) * Math.max(width, height));
  context.filter = `blur(${sigma}px)`;
  context.drawImage(source, 0, 0, width, height);
  context.filter = "none";
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
