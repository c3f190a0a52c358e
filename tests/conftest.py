import pytest

import optimal


@pytest.fixture(scope="session")
def epoch_runs():
    """Epoch AI's 240 Chinchilla rows; the test skips where ../shared/data is absent (it carries no license)."""
    path = optimal.shared_data_path()
    if path is None:
        pytest.skip("shared data (../shared/data/chinchilla_epoch_svg_extracted.csv) is not present")
    return optimal.load_epoch_chinchilla(path)


@pytest.fixture(scope="session")
def epoch_fit(epoch_runs):
    return optimal.fit(epoch_runs.n_params, epoch_runs.n_tokens, epoch_runs.loss)
