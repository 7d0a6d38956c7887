// Dolos's library as a candidate engine of bench/similarity.py: reads {files: [{name, content}], template}
// as JSON on stdin, prints every pair's {a, b, similarity, overlap, longest} as JSON.
// The library is installed by bench/similarity.py --engine dolos (npm, into var/dolos).
import { createRequire } from "node:module";
import process from "node:process";

const require = createRequire(process.env.DOLOS_PREFIX + "/package.json");
const { Dolos } = await import(require.resolve("@dodona/dolos-lib"));
const { File } = await import(require.resolve("@dodona/dolos-core"));

let input = "";
for await (const chunk of process.stdin) { input += chunk; }
const data = JSON.parse(input);
const dolos = new Dolos({ language: "python", maxFingerprintPercentage: data.maxFingerprintPercentage ?? null });
const files = data.files.map((f, i) => new File(f.name, f.content, undefined, i));
const template = data.template ? new File("template.py", data.template, undefined, files.length) : undefined;
const report = await dolos.analyze(files, "bench", template);
const pairs = report.allPairs().map((p) => ({
  a: p.leftFile.path, b: p.rightFile.path, similarity: p.similarity, overlap: p.overlap, longest: p.longest,
}));
process.stdout.write(JSON.stringify(pairs));
