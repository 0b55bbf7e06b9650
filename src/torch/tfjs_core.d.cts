import * as tf from "@tensorflow/tfjs-core";
export = tf;
