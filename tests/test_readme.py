"""The README's library example runs as written."""

import contextlib
import io
import os
import re

from absl.testing import absltest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ReadmeTest(absltest.TestCase):
  def test_readme_example_runs(self):
    text = open(os.path.join(ROOT, 'README.md')).read()
    section = text.split('## Using the library', 1)[1]
    code = re.search(r'```python\n(.*?)```', section, re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
      exec(compile(code, 'README.md', 'exec'), {})
    self.assertStartsWith(out.getvalue(), '(32, 10)')


if __name__ == '__main__':
  absltest.main()
