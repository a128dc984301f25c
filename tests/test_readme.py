"""The README's library example runs as written."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_example_runs(capsys):
  text = open(os.path.join(ROOT, 'README.md')).read()
  section = text.split('## Using the library', 1)[1]
  code = re.search(r'```python\n(.*?)```', section, re.S).group(1)
  exec(compile(code, 'README.md', 'exec'), {})
  assert capsys.readouterr().out.startswith('(32, 10)')
