# Reads `swanctl --list-sas --pretty` (a `list-sa event { NAME { ... } }` block per IKE SA:
# `key = value`, `name {` ... `}`, `key = [` items `]`) into {NAME: [IKE SA, ...]} as JSON.
import json, sys
out, stack, cur = {}, [], None
for line in sys.stdin:
    s = line.strip()
    if s == 'list-sa event {':
        cur = {}
        stack = [cur]
    elif cur is None:
        continue
    elif s.endswith('= ['):
        n = []
        cur[s[:-3].strip()] = n
        stack.append(n); cur = n
    elif s.endswith('{'):
        n = {}
        cur[s[:-1].strip()] = n
        stack.append(n); cur = n
    elif s in ('}', ']'):
        stack.pop()
        if not stack:
            for name, sa in cur.items():
                out.setdefault(name, []).append(sa)
            cur = None
        else:
            cur = stack[-1]
    elif isinstance(cur, list):
        cur.append(s)
    elif ' = ' in s:
        k, v = s.split(' = ', 1)
        cur[k] = v
print(json.dumps(out))
