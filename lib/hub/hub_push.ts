/**
 * Uploads files to a Space repository with `@huggingface/hub` (createRepo, then one commit through uploadFiles:
 * preupload, then the NDJSON commit). Every request goes through the egress guard (`hubFetch`).
 */

import { createRepo, HubApiError, uploadFiles } from "@huggingface/hub";
import { ConfigurationError } from "../errors.ts";
import { checkRepoId, HubError, hubFetch, type HubOptions } from "./hub_http.ts";

/** Options of `pushToHub` (tools and agents), as smolagents names them, in camelCase. */
export interface PushToHubOptions extends HubOptions {
  /** The commit's title (default "Upload tool" / "Upload agent"). */
  commitMessage?: string;
  /** Create the repository private (only when it does not exist yet). */
  private?: boolean;
  /** Open a pull request with the files instead of committing to main. */
  createPr?: boolean;
}

/** Creates the Space if needed and commits the files; returns the commit's URL (the pull request's with `createPr`). */
export async function pushSpaceFiles(
  repoId: string,
  files: Record<string, string>,
  options: PushToHubOptions & { commitMessage: string },
): Promise<string> {
  const accessToken = options.token;
  if (!accessToken) throw new ConfigurationError("pushToHub needs `token`: a Hugging Face token with write access.");
  const repo = { type: "space" as const, name: checkRepoId(repoId) };
  const common = { repo, accessToken, hubUrl: options.hubUrl, fetch: hubFetch(options) };
  try {
    await createRepo({
      ...common,
      sdk: "static",
      ...(options.private === undefined ? {} : { private: options.private }),
    });
  } catch (error) {
    if (!(error instanceof HubApiError && error.statusCode === 409)) {
      throw asHubError(error, `create the Space '${repoId}'`);
    }
  }
  let output;
  try {
    output = await uploadFiles({
      ...common,
      files: Object.entries(files).map(([path, text]) => ({ path, content: new Blob([text]) })),
      commitTitle: options.commitMessage,
      isPullRequest: options.createPr,
    });
  } catch (error) {
    throw asHubError(error, `upload to the Space '${repoId}'`);
  }
  return output?.pullRequestUrl ?? output?.commit.url ?? "";
}

function asHubError(error: unknown, what: string): Error {
  if (error instanceof HubApiError) return new HubError(`Could not ${what}: ${error.message}`, error.statusCode);
  return error as Error;
}
