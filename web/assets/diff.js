// Line diff from the longest common subsequence (dynamic programming over lines).
// diffLines(a, b) -> [{op: "same"|"del"|"add", text, a?: lineNo, b?: lineNo}]

export function diffLines(a, b) {
  const x = splitLines(a);
  const y = splitLines(b);
  // Trim the common head and tail so the table covers only the changed middle.
  let start = 0;
  while (start < x.length && start < y.length && x[start] === y[start]) start++;
  let endX = x.length;
  let endY = y.length;
  while (endX > start && endY > start && x[endX - 1] === y[endY - 1]) {
    endX--;
    endY--;
  }
  const n = endX - start;
  const m = endY - start;
  // lcs[i][j]: LCS length of x[start+i..endX) and y[start+j..endY), in one flat array.
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = x[start + i] === y[start + j]
        ? lcs[(i + 1) * w + j + 1] + 1
        : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  const out = [];
  for (let k = 0; k < start; k++) out.push({ op: "same", text: x[k], a: k + 1, b: k + 1 });
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[start + i] === y[start + j]) {
      out.push({ op: "same", text: x[start + i], a: start + i + 1, b: start + j + 1 });
      i++;
      j++;
    } else if (i < n && (j === m || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
      out.push({ op: "del", text: x[start + i], a: start + i + 1 });
      i++;
    } else {
      out.push({ op: "add", text: y[start + j], b: start + j + 1 });
      j++;
    }
  }
  for (let k = 0; k < x.length - endX; k++) {
    out.push({ op: "same", text: x[endX + k], a: endX + k + 1, b: endY + k + 1 });
  }
  return out;
}

function splitLines(s) {
  const text = String(s ?? "");
  return text === "" ? [] : text.split(/\r?\n/);
}

/** Counts of added and removed lines. */
export function diffStats(d) {
  return { added: d.filter((l) => l.op === "add").length, removed: d.filter((l) => l.op === "del").length };
}
