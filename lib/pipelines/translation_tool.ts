/**
 * transformers-agents' `translation` (`TranslationTool`, name `translator`) on NLLB-200. Languages are plain
 * English names ("French") mapped to NLLB codes ("fra_Latn"), or NLLB codes given as they are. Remote:
 * `@huggingface/inference`'s `translation` (JSON `{inputs, parameters: {src_lang, tgt_lang}}`, answer
 * `[{translation_text}]`); local: transformers.js' `translation` pipeline with the same `src_lang` / `tgt_lang`.
 */

import { translation } from "@huggingface/inference";
import { AgentToolCallError } from "../errors.ts";
import type { ToolInputs, ToolInputType } from "../tools/tool_inputs.ts";
import { AgentText } from "../types/agent_text.ts";
import type { LocalPipeline } from "./local_pipeline.ts";
import { type RemoteRoute, TaskTool } from "./task_tool.ts";

/** Plain English language names and their NLLB-200 codes (a subset; any NLLB code is accepted as well). */
export const NLLB_LANGUAGE_CODES: Readonly<Record<string, string>> = {
  Albanian: "als_Latn",
  Arabic: "arb_Arab",
  Chinese: "zho_Hans",
  Dutch: "nld_Latn",
  English: "eng_Latn",
  French: "fra_Latn",
  German: "deu_Latn",
  Greek: "ell_Grek",
  Hindi: "hin_Deva",
  Italian: "ita_Latn",
  Japanese: "jpn_Jpan",
  Korean: "kor_Hang",
  Polish: "pol_Latn",
  Portuguese: "por_Latn",
  Romanian: "ron_Latn",
  Russian: "rus_Cyrl",
  Spanish: "spa_Latn",
  Swedish: "swe_Latn",
  Turkish: "tur_Latn",
  Ukrainian: "ukr_Cyrl",
};

type TranslationInputs = { text: string; srcLang: string; tgtLang: string };

type Args = { text: string; src_lang: string; tgt_lang: string };

function languageCode(name: string, argument: string): string {
  if (/^[a-z]{3}_[A-Z][a-z]{3}$/.test(name)) return name;
  const key = Object.keys(NLLB_LANGUAGE_CODES).find((language) => language.toLowerCase() === name.toLowerCase());
  if (key) return NLLB_LANGUAGE_CODES[key];
  throw new AgentToolCallError(
    `translator: ${argument} '${name}' is not a known language; use one of ${
      Object.keys(NLLB_LANGUAGE_CODES).join(", ")
    }, or an NLLB-200 code such as 'fra_Latn'`,
  );
}

/** Translates text between languages (`load_tool("translation")`). */
export class TranslationTool extends TaskTool<Args, AgentText, TranslationInputs, string> {
  readonly name: string = "translator";
  readonly description: string =
    "This is a tool that translates text from a language to another. It takes three inputs: `text`, which should be the text to translate, `src_lang`, which should be the language of the text to translate and `tgt_lang`, which should be the language for the desired ouput language. Both `src_lang` and `tgt_lang` are written in plain English, such as 'Romanian', or 'Albanian'. It returns the text translated in `tgt_lang`.";
  readonly inputs: ToolInputs = {
    text: { type: "string", description: "The text to translate" },
    src_lang: {
      type: "string",
      description: "The language of the text to translate. Written in plain English, such as 'Romanian', or 'Albanian'",
    },
    tgt_lang: {
      type: "string",
      description:
        "The language for the desired ouput language. Written in plain English, such as 'Romanian', or 'Albanian'",
    },
  };
  readonly outputType: ToolInputType = "string";
  readonly defaultCheckpoint: string = "facebook/nllb-200-distilled-600M";
  readonly defaultLocalCheckpoint: string | undefined = "Xenova/nllb-200-distilled-600M";
  readonly localTask: string | undefined = "translation";

  encode(args: Args): TranslationInputs {
    return {
      text: args.text,
      srcLang: languageCode(args.src_lang, "src_lang"),
      tgtLang: languageCode(args.tgt_lang, "tgt_lang"),
    };
  }

  protected async remote({ text, srcLang, tgtLang }: TranslationInputs, route: RemoteRoute): Promise<string> {
    const parameters = { src_lang: srcLang, tgt_lang: tgtLang };
    const output = await translation({ ...route.args, inputs: text, parameters }, route.options);
    return (Array.isArray(output) ? output[0] : output).translation_text ?? "";
  }

  protected async runLocal({ text, srcLang, tgtLang }: TranslationInputs, pipeline: LocalPipeline): Promise<string> {
    const [first] = await pipeline.run(text, { src_lang: srcLang, tgt_lang: tgtLang }) as Array<
      { translation_text: string }
    >;
    return first?.translation_text ?? "";
  }

  decode(text: string): AgentText {
    return new AgentText(text);
  }
}
