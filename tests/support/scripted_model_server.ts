// The scripted model server is part of the library (`@smolstep/smolstep/testing`); tests import it from here.
export * from "../../lib/testing/scripted_model_server.ts";
