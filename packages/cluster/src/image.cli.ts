#!/usr/bin/env node
import { buildImage } from './image.js';

/** `npm run image`: builds the real Dockerfile here and prints the image's size and build time. */
const image = buildImage(process.argv[2]);
process.stdout.write(
  `${image.name}: ${image.size}, built in ${image.seconds.toFixed(0)} s on ${image.base}\n`,
);
