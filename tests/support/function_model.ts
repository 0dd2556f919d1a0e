// The scripted in-process model is part of the library (`@smolstep/smolstep/testing`); tests import it from here.
export * from "../../lib/testing/function_model.ts";
