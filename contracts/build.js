// Compiles the contracts with solc-js (pinned in package.json) into build/<Name>.json { abi, bytecode, source, sourceSha256 }.
// sourceSha256 (of the .sol file's bytes) lets a user of the artifact notice that it is older than its source.
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const solc = require('solc');
const files = fs.readdirSync(__dirname).filter(f => f.endsWith('.sol'));
const input = {
  language: 'Solidity',
  sources: Object.fromEntries(files.map(f => [f, { content: fs.readFileSync(path.join(__dirname, f), 'utf8') }])),
  settings: { optimizer: { enabled: true, runs: 200 }, viaIR: true, evmVersion: 'shanghai',
              outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter(e => e.severity === 'error');
for (const e of out.errors || []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);
fs.mkdirSync(path.join(__dirname, 'build'), { recursive: true });
for (const [file, contracts] of Object.entries(out.contracts))
  for (const [name, c] of Object.entries(contracts))
    fs.writeFileSync(path.join(__dirname, 'build', name + '.json'), JSON.stringify({
      abi: c.abi, bytecode: '0x' + c.evm.bytecode.object, source: file,
      sourceSha256: crypto.createHash('sha256').update(fs.readFileSync(path.join(__dirname, file))).digest('hex') }));
console.log('compiled', Object.values(out.contracts).flatMap(Object.keys).join(', '), 'with solc', solc.version());
